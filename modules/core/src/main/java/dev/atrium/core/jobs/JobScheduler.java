package dev.atrium.core.jobs;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.typesafe.config.Config;
import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.http.Replies;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * Scheduled jobs on one scheduler for the cluster: each registered {@link Job} runs at the
 * slots of its cron expression ({@code atrium.jobs.<name>.cron}), every run recorded in
 * {@code job_runs}, kept for {@code atrium.jobs.history-retention} (each job's latest run always).
 * A node's routes read the jobs' state here and trigger runs through the
 * singleton, so every run, scheduled or manual, is claimed and started in one place.
 */
public final class JobScheduler {
  /** A job as the admin API shows it: its schedule, its next slot and its latest run. */
  public record JobView(
      String name,
      String cron,
      @JsonInclude(JsonInclude.Include.ALWAYS) Instant nextRun,
      @JsonInclude(JsonInclude.Include.ALWAYS) JobRun lastRun) {}

  /** The answer to a trigger: whether it started a run, and the run of the slot. */
  public record Triggered(boolean started, JobRun run) implements JsonSerializable {}

  final Jobs jobs;
  final JobRuns runs;
  final Clock clock;
  final Duration retryInterval;
  /** Runs older than this are deleted from job_runs after each run (each job's latest kept). */
  final Duration historyRetention;
  private final Map<String, JobSchedule> schedules;
  private final ActorSystem<?> system;
  private final ActorRef<SchedulerBehavior.Command> singleton;
  private final Duration askTimeout;

  private JobScheduler(ActorSystem<?> system, Jobs jobs, Clock clock) {
    Config config = system.settings().config().getConfig("atrium.jobs");
    this.system = system;
    this.jobs = jobs.closeRegistration();
    this.clock = clock;
    this.runs = new JobRuns(ProjectionDatabase.get(system));
    this.retryInterval = config.getDuration("retry-interval");
    this.historyRetention = config.getDuration("history-retention");
    if (historyRetention.isNegative()) {
      throw new IllegalArgumentException("atrium.jobs.history-retention must not be negative: " + historyRetention);
    }
    this.askTimeout = system.settings().config().getDuration("atrium.http.ask-timeout");
    Map<String, JobSchedule> parsed = new HashMap<>();
    for (String name : jobs.names()) {
      String setting = "atrium.jobs." + name + ".cron";
      if (!system.settings().config().hasPath(setting)) {
        throw new IllegalArgumentException("job " + name + " has no schedule: set " + setting);
      }
      parsed.put(name, JobSchedule.parse(setting, system.settings().config().getString(setting)));
    }
    this.schedules = Map.copyOf(parsed);
    Duration checkInterval = config.getDuration("check-interval");
    this.singleton = ClusterSingleton.get(system).init(SingletonActor.of(
        Behaviors.supervise(SchedulerBehavior.create(this, checkInterval)).onFailure(SupervisorStrategy.restart()),
        "job-scheduler"));
  }

  /**
   * Starts the cluster's scheduler with the jobs registered so far (no more afterwards);
   * fails naming the setting when a job has no cron expression or a malformed one.
   */
  public static JobScheduler start(ActorSystem<?> system, Jobs jobs, Clock clock) {
    return new JobScheduler(system, jobs, clock);
  }

  JobSchedule schedule(String job) {
    return schedules.get(job);
  }

  public boolean has(String job) {
    return jobs.get(job).isPresent();
  }

  /** Every job with its next slot and latest run. */
  public CompletionStage<List<JobView>> overview() {
    return runs.overview().thenApply(overview -> {
      Instant now = clock.instant();
      return jobs.names().stream().map(name -> new JobView(name, schedule(name).expression(),
          nextRun(name, now, Optional.ofNullable(overview.latestSlots().get(name))).orElse(null),
          overview.lastRuns().get(name))).toList();
    });
  }

  /** The next slot that will run: a manual trigger may have run the upcoming one already. */
  private Optional<Instant> nextRun(String job, Instant now, Optional<Instant> latestClaimed) {
    JobSchedule schedule = schedule(job);
    return schedule.next(now).flatMap(next -> latestClaimed.isPresent() && !latestClaimed.get().isBefore(next)
        ? schedule.next(latestClaimed.get()) : Optional.of(next));
  }

  /** A job's runs, the latest first. */
  public CompletionStage<List<JobRun>> history(String job, int limit) {
    return runs.history(job, limit);
  }

  /**
   * Runs the job's next slot now, or answers the run that holds it already (a second trigger
   * has no further effect); fails with the API error to answer.
   */
  public CompletionStage<Triggered> trigger(String job) {
    return AskPattern.<SchedulerBehavior.Command, Reply<Triggered>>ask(singleton,
            replyTo -> new SchedulerBehavior.Trigger(job, replyTo), askTimeout, system.scheduler())
        .handle((reply, error) -> {
          if (error != null) {
            throw Replies.failure(error, "job scheduler");
          }
          return Replies.value(reply);
        });
  }
}
