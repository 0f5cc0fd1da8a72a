package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.TagSlices;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.entity.Supervision;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Tier;
import dev.atrium.runs.RunState.Spec;
import dev.atrium.runs.RunState.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One run, the Workflows analogue: sharded by its server-generated id, event-sourced, and
 * driving its own steps. Every sub-step result is piped back to the entity, which re-checks
 * its state when it arrives and persists it before anything that depends on it starts; so a
 * run that resumes (after a restart, on another node) continues at the first unfinished
 * sub-step and never repeats a finished one. Sharding's idle passivation is off for runs
 * (piped results do not count as activity); a run passivates itself an hour after it ends.
 * A run waits queued until it holds one of its tenant's running slots ({@link RunAdmission}).
 *
 * <p>The commands are handled by stage: new (no spec), queued, running, ended. What a stage
 * does not take is a leftover of an earlier one (a timer, a piped answer) and changes
 * nothing. The entity decides and persists; its {@link RunExecutor} carries out, after the
 * persist that justifies it.
 */
public final class Run extends EventSourcedBehaviorWithEnforcedReplies<Run.Command, Run.Event, RunState> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Run");
  public static final TagSlices TAGS = new TagSlices("run", 10);

  static final String NO_SUCH_RUN = "No such run.";
  private static final Reply<RunView> UNKNOWN = Reply.notFound(NO_SUCH_RUN);
  private static final Reply<RunView> FINISHED = Reply.conflict("run_finished", "The run has finished already.");
  private static final Reply<RunView> KEY_REUSED = Reply.conflict("idempotency_key_reused",
      "This Idempotency-Key was sent before with another type or input; use a new key for a new run.");

  // ---- commands -------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable
      permits Asked, Wake, Expire, Advance, SlotAnswer, HoldSlot, SubStepDone, RetrySubStep, PassivateNow {}

  /**
   * A command from a client, answered with the run as it is now: "not found" when it is
   * another tenant's, or another owner's unless the tenant's admin asks.
   */
  public sealed interface Asked extends Command permits Create, Get, Cancel {
    Caller caller();

    ActorRef<Reply<RunView>> replyTo();
  }

  /** A new run for {@code caller}'s owner (never an admin), metered with {@code accountId} and {@code tier}. */
  public record Create(Caller caller, String accountId, Tier tier, String type, JsonNode input, int maxConcurrency,
      ActorRef<Reply<RunView>> replyTo) implements Asked {}

  public record Get(Caller caller, ActorRef<Reply<RunView>> replyTo) implements Asked {}

  public record Cancel(Caller caller, ActorRef<Reply<RunView>> replyTo) implements Asked {}

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
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Run(ctx, entity, entity.getEntityId(), clock,
        new RunExecutor(ctx, timers, entity.getEntityId(), types, admission, passivateAfter))));
  }

  /** Without sharding (entity tests): passivation is a no-op. */
  static Behavior<Command> create(String runId, RunTypes types, Clock clock, Duration passivateAfter,
      RunAdmission admission) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Run(ctx, null, runId, clock,
        new RunExecutor(ctx, timers, runId, types, admission, passivateAfter))));
  }

  private final ActorContext<Command> ctx;
  private final EntityContext<Command> entity;
  private final String runId;
  private final Clock clock;
  private final RunExecutor executor;

  private Run(ActorContext<Command> ctx, EntityContext<Command> entity, String runId, Clock clock,
      RunExecutor executor) {
    super(PersistenceId.of(ENTITY_KEY.name(), runId), Supervision.entityDefault());
    this.ctx = ctx;
    this.entity = entity;
    this.runId = runId;
    this.clock = clock;
    this.executor = executor;
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
  public Set<String> tagsFor(Event event) {
    return Set.of(TAGS.of(runId));
  }

  @Override
  public SignalHandler<RunState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::onRecovered).build();
  }

  private void onRecovered(RunState state) {
    if (ended(state)) {
      executor.schedulePassivation();
      return;
    }
    if (running(state)) {
      // Resumed (its node stopped or died): it held a slot, so it continues at once and
      // holds the slot again now (same id), past the cap if the pool filled meanwhile.
      // Waiting in the queue would stall work the tenant was already granted, and the
      // cap is exact again as soon as the hold lands: new runs wait until it frees.
      executor.keepSlot(Duration.ZERO);
    }
    if (exists(state)) {
      advance();
    }
  }

  // ---- stages -----------------------------------------------------------------------------

  private static boolean isNew(RunState state) {
    return state.spec().isEmpty();
  }

  private static boolean exists(RunState state) {
    return state.spec().isPresent();
  }

  private static boolean queued(RunState state) {
    return state.status() == Status.QUEUED;
  }

  private static boolean running(RunState state) {
    return state.status() == Status.RUNNING;
  }

  private static boolean ended(RunState state) {
    return state.status().terminal();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, RunState> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder();
    builder.forState(Run::isNew)
        .onCommand(Create.class, this::onCreate)
        .onCommand(Asked.class, (state, cmd) -> unknown(cmd));
    builder.forState(Run::queued)
        .onCommand(Cancel.class, visible(this::onCancel))
        .onCommand(Wake.class, (state, cmd) -> onAdvanceQueued(state))
        .onCommand(Advance.class, (state, cmd) -> onAdvanceQueued(state))
        .onCommand(SlotAnswer.class, this::onSlotAnswer)
        .onCommand(Expire.class, this::onExpire);
    builder.forState(Run::running)
        .onCommand(Cancel.class, visible(this::onCancel))
        .onCommand(Wake.class, (state, cmd) -> onAdvanceRunning(state))
        .onCommand(Advance.class, (state, cmd) -> onAdvanceRunning(state))
        .onCommand(SubStepDone.class, this::onSubStepDone)
        .onCommand(RetrySubStep.class, this::onRetry)
        .onCommand(HoldSlot.class, this::onHoldSlot)
        .onCommand(Expire.class, this::onExpire);
    builder.forState(Run::ended)
        .onCommand(Cancel.class, visible((state, cmd) -> Effect().reply(cmd.replyTo(), FINISHED)))
        .onCommand(SlotAnswer.class, this::onLateSlotAnswer);
    // Queued, running or ended alike.
    builder.forState(Run::exists)
        .onCommand(Create.class, visible(this::onCreateAgain))
        .onCommand(Get.class, visible(this::onGet));
    // Any stage, unless it took the command above: leftovers of an earlier stage.
    builder.forAnyState()
        .onCommand(SubStepDone.class, this::onLateSubStepDone)
        .onCommand(SlotAnswer.class, (state, answer) -> {
          // A running run that asked twice across a restart: the grant is of the slot it holds.
          executor.slotAnswered();
          return Effect().noReply();
        })
        .onCommand(PassivateNow.class, this::onPassivate)
        .onCommand(Wake.class, this::ignored)
        .onCommand(Advance.class, this::ignored)
        .onCommand(Expire.class, this::ignored)
        .onCommand(HoldSlot.class, this::ignored)
        .onCommand(RetrySubStep.class, this::ignored);
    return builder.build();
  }

  /** {@code handler} for the run's owner (and its tenant's admin); "not found" for everyone else. */
  private <C extends Asked> BiFunction<RunState, C, ReplyEffect<Event, RunState>> visible(
      BiFunction<RunState, C, ReplyEffect<Event, RunState>> handler) {
    return (state, cmd) -> cmd.caller().sees(tenantOf(state), state.spec().orElseThrow().owner())
        ? handler.apply(state, cmd) : unknown(cmd);
  }

  private ReplyEffect<Event, RunState> unknown(Asked cmd) {
    return Effect().reply(cmd.replyTo(), UNKNOWN);
  }

  // ---- new --------------------------------------------------------------------------------

  private ReplyEffect<Event, RunState> onCreate(RunState state, Create cmd) {
    // An admin sees runs but starts none: a run always has an owner.
    if (cmd.caller().admin()) {
      return unknown(cmd);
    }
    RunType type = executor.type(cmd.type());
    List<Step> steps = type.plan(cmd.input());
    Instant now = clock.instant();
    Spec spec = new Spec(cmd.caller().tenantId(), cmd.caller().owner(), cmd.accountId(), cmd.tier(), cmd.type(),
        cmd.input(), cmd.maxConcurrency(), now, now.plus(type.timeout()), steps.stream().map(Step::name).toList(),
        steps.stream().map(s -> s.subSteps().size()).toList());
    return Effect().persist(new Created(runId, spec.tenantId(), spec))
        .thenRun(s -> advance())
        .thenReply(cmd.replyTo(), s -> Reply.accepted(view(s)));
  }

  // ---- queued, running or ended ----------------------------------------------------------

  /**
   * The run exists: a resend with the same Idempotency-Key (the id derives from it) gets it
   * back as it is now; the same key with another request is a conflict.
   */
  private ReplyEffect<Event, RunState> onCreateAgain(RunState state, Create cmd) {
    Spec spec = state.spec().orElseThrow();
    boolean same = spec.type().equals(cmd.type()) && Objects.equals(spec.owner(), cmd.caller().owner())
        && spec.input().toString().equals(cmd.input().toString());
    return Effect().reply(cmd.replyTo(), same ? Reply.accepted(view(state)) : KEY_REUSED);
  }

  private ReplyEffect<Event, RunState> onGet(RunState state, Get cmd) {
    return Effect().reply(cmd.replyTo(), Reply.accepted(view(state)));
  }

  // ---- queued and running -----------------------------------------------------------------

  private ReplyEffect<Event, RunState> onCancel(RunState state, Cancel cmd) {
    if (state.cancelRequested()) {
      return Effect().reply(cmd.replyTo(), Reply.accepted(view(state)));
    }
    return Effect().persist(new CancelRequested(runId, tenantOf(state), clock.instant()))
        .thenRun(s -> {
          executor.abort("run cancelled");
          advance();
        })
        .thenReply(cmd.replyTo(), s -> Reply.accepted(view(s)));
  }

  private ReplyEffect<Event, RunState> onExpire(RunState state, Expire cmd) {
    return end(new Failed(runId, tenantOf(state), cmd.reason(), clock.instant()));
  }

  /** A cancelled run ends once none of its sub-steps is in flight (each answers when its stream is cut). */
  private ReplyEffect<Event, RunState> cancelWhenIdle(RunState state) {
    return executor.idle() ? end(new Cancelled(runId, tenantOf(state), clock.instant())) : Effect().noReply();
  }

  // ---- queued -----------------------------------------------------------------------------

  /**
   * A queued run asks for one of its tenant's running slots. Denied, or no answer from the
   * limiter, it asks again after about a second; it stays in memory meanwhile, as sharding's
   * idle passivation is off for runs.
   */
  private ReplyEffect<Event, RunState> onAdvanceQueued(RunState state) {
    if (state.cancelRequested()) {
      return cancelWhenIdle(state);
    }
    executor.askForSlot(tenantOf(state));
    return Effect().noReply();
  }

  private ReplyEffect<Event, RunState> onSlotAnswer(RunState state, SlotAnswer answer) {
    if (state.cancelRequested()) {
      executor.giveBack(tenantOf(state), answer.granted());
      return onAdvanceQueued(state);
    }
    executor.slotAnswered();
    if (!answer.granted()) {
      executor.askForSlotLater();
      return Effect().noReply();
    }
    return Effect().persist(new Started(runId, tenantOf(state), clock.instant()))
        .thenRun(s -> {
          executor.keepSlot();
          advance();
        })
        .thenNoReply();
  }

  // ---- running ----------------------------------------------------------------------------

  /** The next transition the state calls for; sub-steps are started as a side effect. */
  private ReplyEffect<Event, RunState> onAdvanceRunning(RunState state) {
    if (state.cancelRequested()) {
      return cancelWhenIdle(state);
    }
    int index = state.currentStep();
    if (index < 0) {
      JsonNode result = state.steps().get(state.steps().size() - 1).result();
      return end(new Succeeded(runId, tenantOf(state), result, clock.instant()));
    }
    Step step = executor.step(state.spec().orElseThrow(), index);
    RunState.StepRecord record = state.steps().get(index);
    if (!step.subSteps().stream().allMatch(record::resolved)) {
      executor.startReady(state, index);
      return Effect().noReply();
    }
    return completeStep(state, index, step, record);
  }

  /** Every sub-step of the step is resolved: its aggregate, or the run's failure when the step must not fail. */
  private ReplyEffect<Event, RunState> completeStep(RunState state, int index, Step step, RunState.StepRecord record) {
    if (step.failRunOnSubStepFailure() && !record.failures().isEmpty()) {
      String failure = record.failures().values().iterator().next();
      return end(new Failed(runId, tenantOf(state), step.name() + " failed: " + failure, clock.instant()));
    }
    JsonNode aggregate = step.aggregate().apply(record.results(), record.failures());
    RunState next = state.stepCompleted(index, aggregate);
    return persistThenAdvance(new StepCompleted(runId, tenantOf(state), index, step.name(), aggregate, next.progress()));
  }

  private ReplyEffect<Event, RunState> onSubStepDone(RunState state, SubStepDone done) {
    executor.answered(done.step(), done.key());
    if (state.cancelRequested() || done.step() >= state.steps().size()
        || state.steps().get(done.step()).resolved(done.key())) {
      // Cancelling, or a late answer of an attempt from before a restart: nothing to record.
      return onAdvanceRunning(state);
    }
    String tenant = tenantOf(state);
    Step step = executor.step(state.spec().orElseThrow(), done.step());
    if (done.failure() == null) {
      RunState next = state.subStepResolved(done.step(), done.key(), done.result(), null);
      return persistThenAdvance(new SubStepCompleted(runId, tenant, done.step(), step.name(), done.key(),
          done.result(), next.progress(), next.message()));
    }
    if (done.retryable() && done.attempt() < step.retry().maxAttempts()) {
      return Effect().persist(new SubStepAttemptFailed(runId, tenant, done.step(), step.name(), done.key(),
              done.attempt(), done.failure(), state.totalAttempts() + 1))
          .thenRun(s -> executor.retryLater(done.step(), done.key(), step.retry().backoff(done.attempt())))
          .thenNoReply();
    }
    RunState next = state.subStepResolved(done.step(), done.key(), null, done.failure());
    return persistThenAdvance(new SubStepFailed(runId, tenant, done.step(), step.name(), done.key(), done.failure(),
        next.progress(), next.message()));
  }

  private ReplyEffect<Event, RunState> onRetry(RunState state, RetrySubStep retry) {
    if (!state.cancelRequested() && state.currentStep() == retry.step()
        && !state.steps().get(retry.step()).resolved(retry.key())) {
      executor.retry(state, retry.step(), retry.key());
    }
    return Effect().noReply();
  }

  private ReplyEffect<Event, RunState> onHoldSlot(RunState state, HoldSlot hold) {
    executor.renewSlot(tenantOf(state));
    return Effect().noReply();
  }

  // ---- ended, and leftovers in any stage --------------------------------------------------

  /** Cancelled or expired while asking for a slot: a grant is given back. */
  private ReplyEffect<Event, RunState> onLateSlotAnswer(RunState state, SlotAnswer answer) {
    executor.giveBack(tenantOf(state), answer.granted());
    return Effect().noReply();
  }

  private ReplyEffect<Event, RunState> onLateSubStepDone(RunState state, SubStepDone done) {
    executor.answered(done.step(), done.key());
    return Effect().noReply();
  }

  private ReplyEffect<Event, RunState> ignored(RunState state, Command cmd) {
    return Effect().noReply();
  }

  private ReplyEffect<Event, RunState> onPassivate(RunState state, PassivateNow passivate) {
    if (entity != null) {
      entity.getShard().tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    }
    return Effect().noReply();
  }

  // ---- effects ----------------------------------------------------------------------------

  private ReplyEffect<Event, RunState> persistThenAdvance(Event event) {
    return Effect().persist(event).thenRun(s -> advance()).thenNoReply();
  }

  /** A terminal event; once it is persisted the executor winds the run down. */
  private ReplyEffect<Event, RunState> end(Event event) {
    return Effect().persist(event).thenRun(s -> executor.ended(tenantOf(s))).thenNoReply();
  }

  private void advance() {
    ctx.getSelf().tell(Advance.INSTANCE);
  }

  private RunView view(RunState state) {
    return RunView.of(runId, state);
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
