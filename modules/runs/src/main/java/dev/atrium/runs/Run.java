package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.TagSlices;
import dev.atrium.runs.RunState.Spec;
import dev.atrium.runs.RunState.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;

/**
 * One run, the Workflows analogue: sharded by its server-generated id, event-sourced, and
 * driving its own steps. Every sub-step result is piped back to the entity, which re-checks
 * its state when it arrives and persists it before anything that depends on it starts; so a
 * run that resumes (after a restart, on another node) continues at the first unfinished
 * sub-step and never repeats a finished one. Sharding's idle passivation is off for runs
 * (piped results do not count as activity); a run passivates itself an hour after it ends.
 * A run waits queued until it holds one of its tenant's running slots ({@link RunAdmission}).
 */
public final class Run extends EventSourcedBehaviorWithEnforcedReplies<Run.Command, Run.Event, RunState> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Run");
  public static final TagSlices TAGS = new TagSlices("run", 10);
  public static final String NOT_FOUND = "run not found";
  public static final String FINISHED = "run finished";
  public static final String IDEMPOTENCY_CONFLICT = "idempotency key used for another request";

  // ---- commands -------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable
      permits Create, Get, Cancel, Wake, Expire, Advance, SlotAnswer, HoldSlot, SubStepDone, RetrySubStep,
      PassivateNow {}

  public record Create(String tenantId, String ownerKeyId, String type, JsonNode input, int maxConcurrency,
      ActorRef<StatusReply<RunView>> replyTo) implements Command {}

  public record Get(String tenantId, ActorRef<StatusReply<RunView>> replyTo) implements Command {}

  public record Cancel(String tenantId, ActorRef<StatusReply<RunView>> replyTo) implements Command {}

  /** From the supervisor after a restart: continue if unfinished (harmless otherwise). */
  public enum Wake implements Command { INSTANCE }

  /** From the supervisor: the run is past its deadline. */
  public record Expire(String reason) implements Command {}

  enum Advance implements Command { INSTANCE }

  /** The limiter's answer to a queued run's ask for a running slot (false also when it did not answer). */
  record SlotAnswer(boolean granted) implements Command {}

  /** Timer: a running run renews its slot's lease. */
  enum HoldSlot implements Command { INSTANCE }

  record SubStepDone(int step, String key, int attempt, JsonNode result, String failure, boolean retryable)
      implements Command {}

  record RetrySubStep(int step, String key) implements Command {}

  enum PassivateNow implements Command { INSTANCE }

  // ---- events ---------------------------------------------------------------------------

  public sealed interface Event extends JsonSerializable
      permits Created, Started, SubStepCompleted, SubStepAttemptFailed, SubStepFailed, StepCompleted, CancelRequested,
      Succeeded, Failed, Cancelled {
    String runId();

    String tenantId();
  }

  public record Created(String runId, String tenantId, Spec spec) implements Event {}

  public record Started(String runId, String tenantId, Instant at) implements Event {}

  public record SubStepCompleted(String runId, String tenantId, int step, String stepName, String key, JsonNode result,
      int progress, String message) implements Event {}

  public record SubStepAttemptFailed(String runId, String tenantId, int step, String stepName, String key, int attempt,
      String error, int totalAttempts) implements Event {}

  public record SubStepFailed(String runId, String tenantId, int step, String stepName, String key, String error,
      int progress, String message) implements Event {}

  public record StepCompleted(String runId, String tenantId, int step, String stepName, JsonNode result, int progress)
      implements Event {}

  public record CancelRequested(String runId, String tenantId, Instant at) implements Event {}

  public record Succeeded(String runId, String tenantId, JsonNode result, Instant at) implements Event {}

  public record Failed(String runId, String tenantId, String error, Instant at) implements Event {}

  public record Cancelled(String runId, String tenantId, Instant at) implements Event {}

  // ---- wiring ---------------------------------------------------------------------------

  public static void init(ActorSystem<?> system, RunTypes types, RunAdmission admission) {
    Duration passivateAfter = system.settings().config().getDuration("atrium.runs.passivate-after-end");
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY,
            ctx -> create(ctx, types, Clock.systemUTC(), passivateAfter, admission))
        .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
  }

  static Behavior<Command> create(EntityContext<Command> entity, RunTypes types, Clock clock, Duration passivateAfter,
      RunAdmission admission) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Run(ctx, entity, entity.getEntityId(), types, clock, passivateAfter, admission, timers)));
  }

  /** Without sharding (entity tests): passivation is a no-op. */
  static Behavior<Command> create(String runId, RunTypes types, Clock clock, Duration passivateAfter,
      RunAdmission admission) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Run(ctx, null, runId, types, clock, passivateAfter, admission, timers)));
  }

  private static final String ASK_FOR_SLOT = "ask-for-slot";
  private static final String HOLD_SLOT = "hold-slot";

  private final ActorContext<Command> ctx;
  private final EntityContext<Command> entity;
  private final String runId;
  private final RunTypes types;
  private final Clock clock;
  private final Duration passivateAfter;
  private final RunAdmission admission;
  private final TimerScheduler<Command> timers;
  private final Set<String> inFlight = new HashSet<>();
  private boolean askingForSlot;
  private SharedKillSwitch killSwitch;
  private List<Step> plan;

  private Run(ActorContext<Command> ctx, EntityContext<Command> entity, String runId, RunTypes types, Clock clock,
      Duration passivateAfter, RunAdmission admission, TimerScheduler<Command> timers) {
    super(PersistenceId.of(ENTITY_KEY.name(), runId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    this.ctx = ctx;
    this.entity = entity;
    this.runId = runId;
    this.types = types;
    this.clock = clock;
    this.passivateAfter = passivateAfter;
    this.admission = admission;
    this.timers = timers;
  }

  @Override
  public RunState emptyState() {
    return RunState.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public java.util.Set<String> tagsFor(Event event) {
    return java.util.Set.of(TAGS.of(runId));
  }

  @Override
  public SignalHandler<RunState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state.status().terminal()) {
            schedulePassivation();
          } else if (state.spec().isPresent()) {
            if (state.status() == Status.RUNNING) {
              // Resumed (its node stopped or died): it held a slot, so it continues at once and
              // holds the slot again now (same id), past the cap if the pool filled meanwhile.
              // Waiting in the queue would stall work the tenant was already granted, and the
              // cap is exact again as soon as the hold lands: new runs wait until it frees.
              holdSlot(Duration.ZERO);
            }
            ctx.getSelf().tell(Advance.INSTANCE);
          }
        })
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, RunState> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(Get.class, (state, cmd) -> visible(state, cmd.tenantId())
            ? Effect().reply(cmd.replyTo(), StatusReply.success(RunView.of(runId, state)))
            : Effect().reply(cmd.replyTo(), StatusReply.error(NOT_FOUND)))
        .onCommand(Cancel.class, this::onCancel)
        .onCommand(Wake.class, (state, cmd) -> onAdvance(state))
        .onCommand(Advance.class, (state, cmd) -> onAdvance(state))
        .onCommand(SlotAnswer.class, this::onSlotAnswer)
        .onCommand(HoldSlot.class, (state, cmd) -> {
          if (state.status() == Status.RUNNING) {
            admission.hold(tenantOf(state), runId);
          }
          return Effect().noReply();
        })
        .onCommand(Expire.class, this::onExpire)
        .onCommand(SubStepDone.class, this::onSubStepDone)
        .onCommand(RetrySubStep.class, this::onRetry)
        .onCommand(PassivateNow.class, (state, cmd) -> {
          if (entity != null) {
            entity.getShard().tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
          }
          return Effect().noReply();
        })
        .build();
  }

  private boolean visible(RunState state, String tenantId) {
    return state.spec().map(s -> s.tenantId().equals(tenantId)).orElse(false);
  }

  private List<Step> plan(RunState state) {
    if (plan == null) {
      Spec spec = state.spec().orElseThrow();
      plan = types.get(spec.type()).orElseThrow(() -> new IllegalStateException("unknown run type " + spec.type()))
          .plan(spec.input());
    }
    return plan;
  }

  private SharedKillSwitch killSwitch() {
    if (killSwitch == null) {
      killSwitch = KillSwitches.shared("run-" + runId);
    }
    return killSwitch;
  }

  private ReplyEffect<Event, RunState> onCreate(RunState state, Create cmd) {
    if (state.spec().isPresent()) {
      // The run exists: a resend with the same Idempotency-Key (the id derives from it) gets
      // it back as it is now; the same key with another request is a conflict.
      if (!visible(state, cmd.tenantId())) {
        return Effect().reply(cmd.replyTo(), StatusReply.error(NOT_FOUND));
      }
      Spec spec = state.spec().get();
      boolean same = spec.type().equals(cmd.type()) && java.util.Objects.equals(spec.ownerKeyId(), cmd.ownerKeyId())
          && spec.input().toString().equals(cmd.input().toString());
      return Effect().reply(cmd.replyTo(), same
          ? StatusReply.success(RunView.of(runId, state)) : StatusReply.error(IDEMPOTENCY_CONFLICT));
    }
    RunType type = types.get(cmd.type()).orElseThrow();
    List<Step> steps = type.plan(cmd.input());
    Instant now = clock.instant();
    Spec spec = new Spec(cmd.tenantId(), cmd.ownerKeyId(), cmd.type(), cmd.input(), cmd.maxConcurrency(), now,
        now.plus(type.timeout()), steps.stream().map(Step::name).toList(),
        steps.stream().map(s -> s.subSteps().size()).toList());
    return Effect().persist(new Created(runId, cmd.tenantId(), spec))
        .thenRun(s -> ctx.getSelf().tell(Advance.INSTANCE))
        .thenReply(cmd.replyTo(), s -> StatusReply.success(RunView.of(runId, s)));
  }

  private ReplyEffect<Event, RunState> onCancel(RunState state, Cancel cmd) {
    if (!visible(state, cmd.tenantId())) {
      return Effect().reply(cmd.replyTo(), StatusReply.error(NOT_FOUND));
    }
    if (state.status().terminal()) {
      return Effect().reply(cmd.replyTo(), StatusReply.error(FINISHED));
    }
    if (state.cancelRequested()) {
      return Effect().reply(cmd.replyTo(), StatusReply.success(RunView.of(runId, state)));
    }
    return Effect().persist(new CancelRequested(runId, tenantOf(state), clock.instant()))
        .thenRun(s -> {
          // Cancels the running sub-steps' streams (an upstream call stops at once).
          killSwitch().abort(new java.util.concurrent.CancellationException("run cancelled"));
          ctx.getSelf().tell(Advance.INSTANCE);
        })
        .thenReply(cmd.replyTo(), s -> StatusReply.success(RunView.of(runId, s)));
  }

  private ReplyEffect<Event, RunState> onExpire(RunState state, Expire cmd) {
    if (state.spec().isEmpty() || state.status().terminal()) {
      return Effect().noReply();
    }
    killSwitch().abort(new java.util.concurrent.CancellationException("run expired"));
    return Effect().persist(new Failed(runId, tenantOf(state), cmd.reason(), clock.instant()))
        .thenRun(this::ended)
        .thenNoReply();
  }

  /** The next transition the state calls for; sub-steps are started as a side effect. */
  private ReplyEffect<Event, RunState> onAdvance(RunState state) {
    if (state.spec().isEmpty() || state.status().terminal()) {
      return Effect().noReply();
    }
    String tenant = tenantOf(state);
    Instant now = clock.instant();
    if (state.cancelRequested()) {
      return inFlight.isEmpty()
          ? Effect().persist(new Cancelled(runId, tenant, now)).thenRun(this::ended).thenNoReply()
          : Effect().noReply();
    }
    if (state.status() == Status.QUEUED) {
      return askForSlot(state);
    }
    int index = state.currentStep();
    List<Step> steps = plan(state);
    if (index < 0) {
      JsonNode result = state.steps().get(state.steps().size() - 1).result();
      return Effect().persist(new Succeeded(runId, tenant, result, now)).thenRun(this::ended).thenNoReply();
    }
    Step step = steps.get(index);
    RunState.StepRecord record = state.steps().get(index);
    if (step.subSteps().stream().allMatch(record::resolved)) {
      if (step.failRunOnSubStepFailure() && !record.failures().isEmpty()) {
        String failure = record.failures().values().iterator().next();
        return Effect().persist(new Failed(runId, tenant, step.name() + " failed: " + failure, now))
            .thenRun(this::ended).thenNoReply();
      }
      JsonNode aggregate = step.aggregate().apply(record.results(), record.failures());
      RunState next = state.stepCompleted(index, aggregate);
      return Effect().persist(new StepCompleted(runId, tenant, index, step.name(), aggregate, next.progress()))
          .thenRun(this::advanceLater).thenNoReply();
    }
    int capacity = state.spec().get().maxConcurrency();
    for (String key : step.subSteps()) {
      if (inFlight.size() >= capacity) {
        break;
      }
      String id = index + "/" + key;
      if (!record.resolved(key) && !inFlight.contains(id) && !timers.isTimerActive(id)) {
        start(state, index, step, key);
      }
    }
    return Effect().noReply();
  }

  private void advanceLater(RunState state) {
    ctx.getSelf().tell(Advance.INSTANCE);
  }

  /**
   * A queued run asks for one of its tenant's running slots, one ask at a time. Denied, or
   * no answer from the limiter, it asks again after about a second (a timer, never a loop);
   * it stays in memory meanwhile, as sharding's idle passivation is off for runs.
   */
  private ReplyEffect<Event, RunState> askForSlot(RunState state) {
    if (!askingForSlot) {
      askingForSlot = true;
      timers.cancel(ASK_FOR_SLOT);
      ctx.pipeToSelf(admission.acquire(tenantOf(state), runId),
          (granted, error) -> new SlotAnswer(error == null && granted));
    }
    return Effect().noReply();
  }

  private ReplyEffect<Event, RunState> onSlotAnswer(RunState state, SlotAnswer answer) {
    askingForSlot = false;
    if (state.status() != Status.QUEUED || state.cancelRequested()) {
      if (answer.granted()) {
        // Cancelled or expired while asking: the release at its end may have reached the
        // pool before this grant did.
        admission.release(tenantOf(state), runId);
      }
      return onAdvance(state);
    }
    if (!answer.granted()) {
      timers.startSingleTimer(ASK_FOR_SLOT, Advance.INSTANCE, admission.retryDelay());
      return Effect().noReply();
    }
    return Effect().persist(new Started(runId, tenantOf(state), clock.instant()))
        .thenRun(s -> {
          holdSlot(admission.renewInterval());
          advanceLater(s);
        })
        .thenNoReply();
  }

  /** Renews the running slot's lease every renew interval, the first time after {@code first}. */
  private void holdSlot(Duration first) {
    timers.startTimerWithFixedDelay(HOLD_SLOT, HoldSlot.INSTANCE, first, admission.renewInterval());
  }

  /** Every terminal transition: the slot frees (a queued run holds none: harmless), the entity passivates later. */
  private void ended(RunState state) {
    timers.cancel(HOLD_SLOT);
    timers.cancel(ASK_FOR_SLOT);
    admission.release(tenantOf(state), runId);
    schedulePassivation();
  }

  private void start(RunState state, int index, Step step, String key) {
    int attempt = state.attempts(index, key) + 1;
    inFlight.add(index + "/" + key);
    Step.Context context = new Step.Context(runId, tenantOf(state), key, attempt, state.spec().get().input(),
        state.completedStepResults(), state.spec().get().maxConcurrency(), killSwitch());
    java.util.concurrent.CompletionStage<JsonNode> work;
    try {
      work = step.work().run(context);
    } catch (RuntimeException e) {
      work = java.util.concurrent.CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(work, (result, error) -> {
      if (error == null) {
        return new SubStepDone(index, key, attempt, result, null, false);
      }
      RunFailure failure = RunFailure.of(error);
      return new SubStepDone(index, key, attempt, null, failure.getMessage(), failure.retryable());
    });
  }

  private ReplyEffect<Event, RunState> onSubStepDone(RunState state, SubStepDone done) {
    inFlight.remove(done.step() + "/" + done.key());
    if (state.spec().isEmpty() || state.status().terminal()) {
      return Effect().noReply();
    }
    if (state.cancelRequested()) {
      return onAdvance(state);
    }
    if (done.step() >= state.steps().size() || state.steps().get(done.step()).resolved(done.key())) {
      // A late answer of an attempt from before a restart: the sub-step is settled already.
      return onAdvance(state);
    }
    String tenant = tenantOf(state);
    Step step = plan(state).get(done.step());
    if (done.failure() == null) {
      RunState next = state.subStepResolved(done.step(), done.key(), done.result(), null);
      return Effect().persist(new SubStepCompleted(runId, tenant, done.step(), step.name(), done.key(), done.result(),
              next.progress(), next.message()))
          .thenRun(this::advanceLater).thenNoReply();
    }
    if (done.retryable() && done.attempt() < step.retry().maxAttempts()) {
      String id = done.step() + "/" + done.key();
      return Effect().persist(new SubStepAttemptFailed(runId, tenant, done.step(), step.name(), done.key(),
              done.attempt(), done.failure(), state.totalAttempts() + 1))
          .thenRun(s -> timers.startSingleTimer(id, new RetrySubStep(done.step(), done.key()),
              step.retry().backoff(done.attempt())))
          .thenNoReply();
    }
    RunState next = state.subStepResolved(done.step(), done.key(), null, done.failure());
    return Effect().persist(new SubStepFailed(runId, tenant, done.step(), step.name(), done.key(), done.failure(),
            next.progress(), next.message()))
        .thenRun(this::advanceLater).thenNoReply();
  }

  private ReplyEffect<Event, RunState> onRetry(RunState state, RetrySubStep retry) {
    String id = retry.step() + "/" + retry.key();
    if (state.spec().isPresent() && !state.status().terminal() && !state.cancelRequested()
        && state.currentStep() == retry.step() && !state.steps().get(retry.step()).resolved(retry.key())
        && !inFlight.contains(id)) {
      start(state, retry.step(), plan(state).get(retry.step()), retry.key());
    }
    return Effect().noReply();
  }

  private void schedulePassivation() {
    timers.startSingleTimer("passivate", PassivateNow.INSTANCE, passivateAfter);
  }

  private static String tenantOf(RunState state) {
    return state.spec().orElseThrow().tenantId();
  }

  @Override
  public EventHandler<RunState, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Created.class, (s, e) -> s.created(e.spec()))
        .onEvent(Started.class, (s, e) -> s.started(e.at()))
        .onEvent(SubStepCompleted.class, (s, e) -> s.subStepResolved(e.step(), e.key(), e.result(), null))
        .onEvent(SubStepAttemptFailed.class, (s, e) -> s.attemptFailed(e.step(), e.key(), e.attempt(), e.error()))
        .onEvent(SubStepFailed.class, (s, e) -> s.subStepResolved(e.step(), e.key(), null, e.error()))
        .onEvent(StepCompleted.class, (s, e) -> s.stepCompleted(e.step(), e.result()))
        .onEvent(CancelRequested.class, (s, e) -> s.withCancelRequest())
        .onEvent(Succeeded.class, (s, e) -> s.ended(Status.SUCCEEDED, e.at(), e.result(), null))
        .onEvent(Failed.class, (s, e) -> s.ended(Status.FAILED, e.at(), null, e.error()))
        .onEvent(Cancelled.class, (s, e) -> s.ended(Status.CANCELLED, e.at(), null, "cancelled"))
        .build();
  }

}
