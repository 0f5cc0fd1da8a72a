package dev.atrium.core.jobs;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The node's jobs. The modules that own a job register it while the node is wired, before
 * the scheduler starts; from then on the set is fixed.
 */
public final class Jobs {
  private static final Pattern NAME = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");

  private final Map<String, Job> jobs = new LinkedHashMap<>();
  private boolean closed;

  public Jobs register(Job job) {
    if (closed) {
      throw new IllegalStateException("job " + job.name() + " is registered after the scheduler started");
    }
    if (!NAME.matcher(job.name()).matches()) {
      throw new IllegalArgumentException("job name '" + job.name() + "' must be lower case letters, digits and dashes");
    }
    if (jobs.putIfAbsent(job.name(), job) != null) {
      throw new IllegalArgumentException("job " + job.name() + " is registered twice");
    }
    return this;
  }

  /** The scheduler starts with these jobs: no more registrations. */
  Jobs closeRegistration() {
    closed = true;
    return this;
  }

  public Optional<Job> get(String name) {
    return Optional.ofNullable(jobs.get(name));
  }

  public List<String> names() {
    return jobs.keySet().stream().sorted().toList();
  }
}
