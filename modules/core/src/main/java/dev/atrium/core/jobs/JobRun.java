package dev.atrium.core.jobs;

import dev.atrium.core.JsonSerializable;
import java.time.Instant;
import java.util.Map;

/** One row of {@code job_runs}, as the admin API shows it. */
public record JobRun(
    String job,
    Instant scheduledFor,
    String trigger,
    String node,
    Instant startedAt,
    Instant endedAt,
    String outcome,
    Map<String, Long> counts,
    String error) implements JsonSerializable {

  public static final String RUNNING = "running";
  public static final String SUCCEEDED = "succeeded";
  public static final String FAILED = "failed";
  public static final String INTERRUPTED = "interrupted";

  public JobRun {
    counts = Map.copyOf(counts);
  }
}
