package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.runs.RunState.Spec;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;

/**
 * What one incarnation of a {@link Run} does beside its persisted state: it plans the steps,
 * starts sub-steps and remembers which have not answered yet, asks for and renews the
 * running slot, and holds the kill switch that cuts the sub-steps' streams. The entity
 * decides; this carries out. Nothing here survives a restart, and nothing needs to: the
 * state says what is left, and answers from before a restart are checked against it.
 */
final class RunExecutor {
  private static final String ASK_FOR_SLOT = "ask-for-slot";
  private static final String HOLD_SLOT = "hold-slot";
  private static final String PASSIVATE = "passivate";

  private final ActorContext<Run.Command> ctx;
  private final TimerScheduler<Run.Command> timers;
  private final String runId;
  private final RunTypes types;
  private final RunAdmission admission;
  private final Duration passivateAfter;
  private final Set<String> inFlight = new HashSet<>();
  private boolean askingForSlot;
  private SharedKillSwitch killSwitch;
  private List<Step> plan;

  RunExecutor(ActorContext<Run.Command> ctx, TimerScheduler<Run.Command> timers, String runId, RunTypes types,
      RunAdmission admission, Duration passivateAfter) {
    this.ctx = ctx;
    this.timers = timers;
    this.runId = runId;
    this.types = types;
    this.admission = admission;
    this.passivateAfter = passivateAfter;
  }

  // ---- steps -----------------------------------------------------------------------------

  RunType type(String name) {
    return types.get(name).orElseThrow(() -> new IllegalStateException("unknown run type " + name));
  }

  /** Step {@code index} of the run's plan (a pure function of the input: the same after a restart). */
  Step step(Spec spec, int index) {
    if (plan == null) {
      plan = type(spec.type()).plan(spec.input());
    }
    return plan.get(index);
  }

  /**
   * Starts the unresolved sub-steps of step {@code index} that are neither running nor
   * waiting to be retried, up to the run's {@code max_concurrency} in flight.
   */
  void startReady(RunState state, int index) {
    Spec spec = state.spec().orElseThrow();
    RunState.StepRecord record = state.steps().get(index);
    for (String key : step(spec, index).subSteps()) {
      if (inFlight.size() >= spec.maxConcurrency()) {
        return;
      }
      if (!record.resolved(key) && !inFlight.contains(id(index, key)) && !timers.isTimerActive(id(index, key))) {
        start(state, index, key);
      }
    }
  }

  /** A retry whose backoff is over: starts the sub-step again unless it is running already. */
  void retry(RunState state, int index, String key) {
    if (!inFlight.contains(id(index, key))) {
      start(state, index, key);
    }
  }

  private void start(RunState state, int index, String key) {
    Spec spec = state.spec().orElseThrow();
    int attempt = state.attempts(index, key) + 1;
    inFlight.add(id(index, key));
    Step.Context context = new Step.Context(runId, spec.tenantId(), spec.owner(), spec.accountId(), spec.tier(),
        step(spec, index).name(), key, attempt, spec.input(),
        state.completedStepResults(), spec.maxConcurrency(), killSwitch());
    CompletionStage<JsonNode> work;
    try {
      work = step(spec, index).work().run(context);
    } catch (RuntimeException e) {
      work = CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(work, (result, error) -> {
      if (error == null) {
        return new Run.SubStepDone(index, key, attempt, result, null, false);
      }
      RunFailure failure = RunFailure.of(error);
      return new Run.SubStepDone(index, key, attempt, null, failure.getMessage(), failure.retryable());
    });
  }

  /** A sub-step answered (whatever the run makes of the answer, it is no longer in flight). */
  void answered(int index, String key) {
    inFlight.remove(id(index, key));
  }

  /** No sub-step is in flight: a cancelled run may end. */
  boolean idle() {
    return inFlight.isEmpty();
  }

  void retryLater(int index, String key, Duration delay) {
    timers.startSingleTimer(id(index, key), new Run.RetrySubStep(index, key), delay);
  }

  /** Cuts the running sub-steps' streams (an upstream call stops at once); none started, nothing to cut. */
  void abort(String reason) {
    if (killSwitch != null) {
      killSwitch.abort(new CancellationException(reason));
    }
  }

  private SharedKillSwitch killSwitch() {
    if (killSwitch == null) {
      killSwitch = KillSwitches.shared("run-" + runId);
    }
    return killSwitch;
  }

  private static String id(int index, String key) {
    return index + "/" + key;
  }

  // ---- the running slot ------------------------------------------------------------------

  /**
   * A queued run asks for one of its tenant's running slots, one ask at a time; the answer
   * comes back as {@link Run.SlotAnswer} (not granted also when the limiter did not answer).
   */
  void askForSlot(String tenantId) {
    if (!askingForSlot) {
      askingForSlot = true;
      timers.cancel(ASK_FOR_SLOT);
      ctx.pipeToSelf(admission.acquire(tenantId, runId), (granted, error) -> new Run.SlotAnswer(error == null && granted));
    }
  }

  void slotAnswered() {
    askingForSlot = false;
  }

  /** Denied: asks again after about a second (a timer, never a loop). */
  void askForSlotLater() {
    timers.startSingleTimer(ASK_FOR_SLOT, Run.Advance.INSTANCE, admission.retryDelay());
  }

  /** Renews the running slot's lease every renew interval, the first time after {@code first}. */
  void keepSlot(Duration first) {
    timers.startTimerWithFixedDelay(HOLD_SLOT, Run.HoldSlot.INSTANCE, first, admission.renewInterval());
  }

  void keepSlot() {
    keepSlot(admission.renewInterval());
  }

  void renewSlot(String tenantId) {
    admission.hold(tenantId, runId);
  }

  /** A grant that came after the run stopped wanting it: the release at its end may have reached the pool first. */
  void giveBack(String tenantId, boolean granted) {
    slotAnswered();
    if (granted) {
      admission.release(tenantId, runId);
    }
  }

  // ---- the end ---------------------------------------------------------------------------

  /**
   * After every terminal transition: sub-steps still running are cut, the slot frees (a
   * queued run holds none: harmless), the entity passivates later.
   */
  void ended(String tenantId) {
    abort("run ended");
    timers.cancel(HOLD_SLOT);
    timers.cancel(ASK_FOR_SLOT);
    admission.release(tenantId, runId);
    schedulePassivation();
  }

  void schedulePassivation() {
    timers.startSingleTimer(PASSIVATE, Run.PassivateNow.INSTANCE, passivateAfter);
  }
}
