package dev.atrium.core.jobs;

import dev.atrium.core.Futures;
import dev.atrium.core.JsonSerializable;
import dev.atrium.core.entity.Reply;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's one scheduler (a cluster singleton). On start it marks runs left running by
 * a stopped node as interrupted and resumes each job after its latest claimed slot: when
 * slots passed meanwhile, the latest of them runs once (not once per slot). Then, every
 * {@code check-interval}, it claims the latest due slot of each job that is not running
 * already and runs it. A manual trigger claims the job's next slot the same way. After a run
 * it deletes the runs past {@code history-retention} ({@link JobRuns#prune}).
 */
final class SchedulerBehavior {
  // For callbacks off the actor's thread, where its context must not be used.
  private static final Logger LOG = LoggerFactory.getLogger(JobScheduler.class);

  sealed interface Command extends JsonSerializable permits Resume, Resumed, Tick, Trigger, Claimed, Ended {}

  enum Resume implements Command { INSTANCE }

  record Resumed(Map<String, Instant> latestSlots, String failure) implements Command {}

  enum Tick implements Command { INSTANCE }

  /** An admin's trigger: run the job's next slot now (or answer the run that holds it). */
  record Trigger(String job, ActorRef<Reply<JobScheduler.Triggered>> replyTo) implements Command {}

  record Claimed(Job.Slot slot, JobRun run, boolean claimed, String failure,
      Optional<ActorRef<Reply<JobScheduler.Triggered>>> replyTo) implements Command {}

  record Ended(Job.Slot slot, Map<String, Long> counts, String failure) implements Command {}

  /**
   * What the scheduler knows: each job's next due slot (empty: its expression names no
   * future time) and the slots it is claiming or running, at most one per job.
   */
  record State(Instant startedAt, Map<String, Optional<Instant>> nextDue, Map<String, Job.Slot> inFlight) {
    State {
      nextDue = Map.copyOf(nextDue);
      inFlight = Map.copyOf(inFlight);
    }

    State running(Job.Slot slot) {
      Map<String, Job.Slot> copy = new HashMap<>(inFlight);
      copy.put(slot.job(), slot);
      return new State(startedAt, nextDue, copy);
    }

    State done(String job) {
      Map<String, Job.Slot> copy = new HashMap<>(inFlight);
      copy.remove(job);
      return new State(startedAt, nextDue, copy);
    }

    State due(String job, Optional<Instant> next) {
      Map<String, Optional<Instant>> copy = new HashMap<>(nextDue);
      copy.put(job, next);
      return new State(startedAt, copy, inFlight);
    }
  }

  private final ActorContext<Command> ctx;
  private final JobScheduler scheduler;
  private final JobRuns runs;
  private final Clock clock;
  private final String node;
  private final Duration retryInterval;

  private SchedulerBehavior(ActorContext<Command> ctx, JobScheduler scheduler, String node) {
    this.ctx = ctx;
    this.scheduler = scheduler;
    this.runs = scheduler.runs;
    this.clock = scheduler.clock;
    this.node = node;
    this.retryInterval = scheduler.retryInterval;
  }

  static Behavior<Command> create(JobScheduler scheduler, Duration checkInterval) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> Behaviors.withStash(1_000, stash -> {
      ctx.setLoggerName(JobScheduler.class);
      String node = Cluster.get(ctx.getSystem()).selfMember().address().toString();
      return new SchedulerBehavior(ctx, scheduler, node).resuming(timers, stash, checkInterval);
    })));
  }

  private Behavior<Command> resuming(TimerScheduler<Command> timers, StashBuffer<Command> stash, Duration checkInterval) {
    ctx.getSelf().tell(Resume.INSTANCE);
    return Behaviors.receive(Command.class)
        .onMessage(Resume.class, r -> {
          ctx.pipeToSelf(runs.resume(clock.instant()), (slots, error) ->
              new Resumed(slots, error == null ? null : String.valueOf(error.getMessage())));
          return Behaviors.same();
        })
        .onMessage(Resumed.class, resumed -> {
          if (resumed.failure() != null) {
            ctx.getLog().warn("job scheduler could not read job_runs, trying again in {}: {}", retryInterval, resumed.failure());
            timers.startSingleTimer(Resume.INSTANCE, retryInterval);
            return Behaviors.same();
          }
          State state = resumedState(resumed.latestSlots());
          ctx.getLog().info("job scheduler started on {}, next slots: {}", node, nextSlots(state));
          timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ZERO, checkInterval);
          return stash.unstashAll(active(state));
        })
        .onMessage(Command.class, command -> {
          stash.stash(command);
          return Behaviors.same();
        })
        .build();
  }

  /**
   * Each job resumes at the first slot after its latest claimed one; a job that has never
   * run starts at its next slot (a new installation has missed nothing).
   */
  private State resumedState(Map<String, Instant> latestSlots) {
    Instant now = clock.instant();
    Map<String, Optional<Instant>> nextDue = new HashMap<>();
    for (String job : scheduler.jobs.names()) {
      JobSchedule schedule = scheduler.schedule(job);
      Instant latest = latestSlots.get(job);
      nextDue.put(job, schedule.next(latest == null ? now : latest));
    }
    return new State(now, nextDue, Map.of());
  }

  /** "chunk-expiry 2026-12-02T03:00:00Z, ...", in name order ("none" for an expression with no future time). */
  private static String nextSlots(State state) {
    return state.nextDue().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .map(e -> e.getKey() + " " + e.getValue().map(Instant::toString).orElse("none"))
        .collect(Collectors.joining(", "));
  }

  private Behavior<Command> active(State state) {
    return Behaviors.receive(Command.class)
        .onMessage(Tick.class, tick -> active(onTick(state)))
        .onMessage(Trigger.class, trigger -> active(onTrigger(state, trigger)))
        .onMessage(Claimed.class, claimed -> active(onClaimed(state, claimed)))
        .onMessage(Ended.class, ended -> active(onEnded(state, ended)))
        .build();
  }

  private State onTick(State state) {
    Instant now = clock.instant();
    State next = state;
    for (String job : scheduler.jobs.names()) {
      Optional<Instant> due = state.nextDue().get(job);
      if (state.inFlight().containsKey(job) || due.isEmpty() || now.isBefore(due.get())) {
        continue;
      }
      // The latest due slot, once, however many passed since the job last ran.
      Instant slot = scheduler.schedule(job).latest(now).orElse(due.get());
      var trigger = slot.isBefore(state.startedAt()) ? Job.Trigger.CATCH_UP : Job.Trigger.SCHEDULE;
      next = claim(next, new Job.Slot(job, slot, trigger), Optional.empty())
          .due(job, scheduler.schedule(job).next(slot));
    }
    return next;
  }

  private State onTrigger(State state, Trigger trigger) {
    Job.Slot running = state.inFlight().get(trigger.job());
    if (scheduler.jobs.get(trigger.job()).isEmpty()) {
      trigger.replyTo().tell(Reply.notFound("No job '" + trigger.job() + "'."));
      return state;
    }
    if (running != null) {
      // The run in flight is the effect a trigger asks for: answer it rather than start another.
      runs.find(running).whenComplete((run, error) -> trigger.replyTo().tell(error == null && run.isPresent()
          ? Reply.accepted(new JobScheduler.Triggered(false, run.get()))
          : Reply.conflict("job_busy", "The job is starting a run; try again.")));
      return state;
    }
    Optional<Instant> slot = scheduler.schedule(trigger.job()).next(clock.instant());
    if (slot.isEmpty()) {
      trigger.replyTo().tell(Reply.conflict("no_next_slot", "The job's cron expression names no future time."));
      return state;
    }
    return claim(state, new Job.Slot(trigger.job(), slot.get(), Job.Trigger.MANUAL), Optional.of(trigger.replyTo()));
  }

  private State claim(State state, Job.Slot slot, Optional<ActorRef<Reply<JobScheduler.Triggered>>> replyTo) {
    ctx.pipeToSelf(runs.claim(slot, node, clock.instant()), (claim, error) -> error != null
        ? new Claimed(slot, null, false, String.valueOf(error.getMessage()), replyTo)
        : new Claimed(slot, claim.run(), claim.claimed(), null, replyTo));
    return state.running(slot);
  }

  private State onClaimed(State state, Claimed claimed) {
    Job.Slot slot = claimed.slot();
    if (claimed.failure() != null) {
      ctx.getLog().warn("job {} could not claim its slot {}, trying again in {}: {}",
          slot.job(), slot.scheduledFor(), retryInterval, claimed.failure());
      claimed.replyTo().ifPresent(r -> r.tell(Reply.unavailable("job_unavailable",
          "The job's run could not be recorded (database unavailable); try again.")));
      State next = state.done(slot.job());
      return claimed.replyTo().isPresent() ? next : next.due(slot.job(), Optional.of(clock.instant().plus(retryInterval)));
    }
    claimed.replyTo().ifPresent(r -> r.tell(Reply.accepted(new JobScheduler.Triggered(claimed.claimed(), claimed.run()))));
    if (!claimed.claimed()) {
      // Another claim (a manual trigger, or a scheduler on another node) holds the slot.
      return state.done(slot.job());
    }
    ctx.getLog().info("job {} runs for {} ({})", slot.job(), slot.scheduledFor(), slot.trigger().wireName());
    ctx.pipeToSelf(start(slot), (counts, error) -> new Ended(slot, counts == null ? Map.of() : counts,
        error == null ? null : failure(error)));
    return state;
  }

  private CompletionStage<Map<String, Long>> start(Job.Slot slot) {
    try {
      return scheduler.jobs.get(slot.job()).orElseThrow().run(slot);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private State onEnded(State state, Ended ended) {
    Job.Slot slot = ended.slot();
    if (ended.failure() == null) {
      ctx.getLog().info("job {} for {} succeeded: {}", slot.job(), slot.scheduledFor(), ended.counts());
    } else {
      ctx.getLog().warn("job {} for {} failed: {}", slot.job(), slot.scheduledFor(), ended.failure());
    }
    Instant now = clock.instant();
    runs.end(slot, now, ended.counts(), ended.failure()).whenComplete((rows, error) -> {
      if (error != null) {
        LOG.warn("job {} for {}: its ending was not recorded: {}", slot.job(), slot.scheduledFor(),
            error.getMessage());
      }
    }).thenCompose(rows -> prune(now));
    return state.done(slot.job());
  }

  /**
   * After each run, the history past its retention goes (of every job, so a job no longer
   * registered keeps only its latest run): job_runs stays small without a job of its own.
   */
  private CompletionStage<Integer> prune(Instant now) {
    Instant cutoff = now.minus(scheduler.historyRetention);
    return runs.prune(cutoff).whenComplete((pruned, error) -> {
      if (error != null) {
        LOG.warn("job_runs: the runs started before {} were not deleted: {}", cutoff, error.getMessage());
      } else if (pruned > 0) {
        LOG.info("job_runs: deleted {} runs started before {}", pruned, cutoff);
      }
    });
  }

  private static String failure(Throwable error) {
    Throwable cause = Futures.unwrap(error);
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }
}
