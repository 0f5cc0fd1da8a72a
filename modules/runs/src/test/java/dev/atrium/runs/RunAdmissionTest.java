package dev.atrium.runs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.Tier;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Admission: a run starts only with one of its tenant's running slots, here a pool of one. */
class RunAdmissionTest {
  static final ActorTestKit testKit = TestRunType.newTestKit();
  static final RunTypes TYPES = TestRunType.both(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  final FakeSlotLimiter limiter = new FakeSlotLimiter();
  // max_running 1; short intervals so the test does not wait for the real ones.
  final RunAdmission admission = new RunAdmission(limiter, tenantId -> 1, Duration.ofSeconds(3),
      Duration.ofMillis(200), Duration.ofMillis(100));

  record TestRun(String id, EventSourcedBehaviorTestKit<Run.Command, Run.Event, RunState> kit) {
    RunState state() {
      return kit.getState();
    }
  }

  TestRun start(String type, String... items) {
    String runId = UUID.randomUUID().toString();
    var kit = EventSourcedBehaviorTestKit.<Run.Command, Run.Event, RunState>create(testKit.system(),
        Run.create(runId, TYPES, Clock.systemUTC(), Duration.ofHours(1), admission));
    var created = kit.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, type, RunTest.items(items), 2, r));
    assertThat(RunTest.accepted(created.reply()).status()).isEqualTo("queued");
    return new TestRun(runId, kit);
  }

  /** A run that holds the only slot, running until the test opens {@code gate}. */
  TestRun holdingTheSlot(String gate) {
    TestRun run = start("test", "gate:" + gate);
    awaitStatus(run, RunState.Status.RUNNING);
    return run;
  }

  static void await(Runnable assertion) {
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      assertion.run();
      return null;
    });
  }

  static RunState awaitStatus(TestRun run, RunState.Status status) {
    await(() -> assertThat(run.state().status()).isEqualTo(status));
    return run.state();
  }

  @Test
  void aSecondRunWaitsQueuedWhileTheFirstHoldsTheOnlySlotAndStartsWhenItEnds() {
    String gate = "admit-" + UUID.randomUUID();
    TestRun first = holdingTheSlot(gate);
    TestRun second = start("test", "ok");

    // Denied, and denied again after its timer: it waits queued, none of its work started.
    await(() -> assertThat(limiter.calls("denied", second.id())).isGreaterThanOrEqualTo(2));
    assertThat(second.state().status()).isEqualTo(RunState.Status.QUEUED);
    assertThat(TestRunType.executions(second.id(), "0")).isZero();
    assertThat(limiter.held()).containsExactly(first.id());

    TestRunType.GATES.get(gate).complete(new TextNode("opened"));
    RunState firstDone = awaitStatus(first, RunState.Status.SUCCEEDED);
    RunState secondDone = awaitStatus(second, RunState.Status.SUCCEEDED);
    assertThat(secondDone.startedAt()).isAfterOrEqualTo(firstDone.endedAt());
    await(() -> assertThat(limiter.held()).isEmpty());
    assertThat(limiter.calls("release", first.id())).isPositive();
    assertThat(limiter.calls("release", second.id())).isPositive();
  }

  @Test
  void theSlotIsReleasedWhenARunFailsAndWhenItExpires() {
    TestRun failing = start("strict", "business");
    TestRun expiring = start("test", "hang");
    awaitStatus(failing, RunState.Status.FAILED);
    // The only slot came free: the second run starts, then passes its deadline.
    awaitStatus(expiring, RunState.Status.RUNNING);
    assertThat(limiter.calls("release", failing.id())).isPositive();
    assertThat(limiter.held()).containsExactly(expiring.id());

    expiring.kit().runCommand(new Run.Expire("timed out"));
    assertThat(awaitStatus(expiring, RunState.Status.FAILED).error()).isEqualTo("timed out");
    await(() -> assertThat(limiter.held()).isEmpty());
  }

  @Test
  void aQueuedRunIsCancelledWithoutASlotAndACancelledRunningRunFreesItsSlot() {
    TestRun running = start("test", "hang");
    awaitStatus(running, RunState.Status.RUNNING);
    TestRun queued = start("test", "ok");
    await(() -> assertThat(limiter.calls("denied", queued.id())).isPositive());

    var cancel = queued.kit().<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("acme"), r));
    assertThat(cancel.reply().accepted()).isTrue();
    RunState cancelled = awaitStatus(queued, RunState.Status.CANCELLED);
    assertThat(cancelled.startedAt()).isNull();
    assertThat(limiter.everGranted(queued.id())).isFalse();
    assertThat(limiter.held()).containsExactly(running.id());

    running.kit().<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("acme"), r));
    awaitStatus(running, RunState.Status.CANCELLED);
    await(() -> assertThat(limiter.held()).isEmpty());
  }

  @Test
  void aLimiterThatDoesNotAnswerKeepsTheRunQueuedAndItAsksAgain() {
    limiter.answering(false);
    TestRun run = start("test", "ok");
    await(() -> assertThat(limiter.calls("ask", run.id())).isGreaterThanOrEqualTo(3));
    assertThat(run.state().status()).isEqualTo(RunState.Status.QUEUED);
    assertThat(TestRunType.executions(run.id(), "0")).isZero();

    limiter.answering(true);
    awaitStatus(run, RunState.Status.SUCCEEDED);
    await(() -> assertThat(limiter.held()).isEmpty());
  }

  @Test
  void aRunningRunRenewsItsSlotAndOnceResumedHoldsItAgainEvenWhenThePoolFilledMeanwhile() {
    String gate = "admit-" + UUID.randomUUID();
    TestRun run = holdingTheSlot(gate);
    await(() -> assertThat(limiter.calls("hold", run.id())).isGreaterThanOrEqualTo(2));

    // The limiter loses the slot (a crash before its write) and another run takes it.
    limiter.lose(run.id());
    assertThat(admission.acquire("acme", "another-run").toCompletableFuture().join()).isTrue();
    int holdsBefore = limiter.calls("hold", run.id());
    run.kit().restart();

    // Resumed, it holds its slot again at once (two in a pool of one) and carries on.
    await(() -> assertThat(limiter.held()).containsExactlyInAnyOrder("another-run", run.id()));
    assertThat(limiter.calls("hold", run.id())).isGreaterThan(holdsBefore);
    assertThat(run.state().status()).isEqualTo(RunState.Status.RUNNING);
    await(() -> assertThat(TestRunType.executions(run.id(), "0")).isEqualTo(2));
    TestRunType.GATES.get(gate).complete(new TextNode("opened"));
    awaitStatus(run, RunState.Status.SUCCEEDED);
    await(() -> assertThat(limiter.held()).containsExactly("another-run"));
  }

  @Test
  void aQueuedRunAnswersAsBeforeAndTakesNoStepOrSlotRenewalBeforeItStarts() {
    String gate = "admit-" + UUID.randomUUID();
    TestRun first = holdingTheSlot(gate);
    TestRun queued = start("test", "ok");
    await(() -> assertThat(limiter.calls("denied", queued.id())).isPositive());

    var kit = queued.kit();
    assertThat(kit.<Reply<RunView>>runCommand(r -> new Run.Get(RunTest.key("other"), r)).reply()).isEqualTo(RunTest.NOT_FOUND);
    var otherTenant = kit.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("other"), r));
    assertThat(otherTenant.reply()).isEqualTo(RunTest.NOT_FOUND);
    assertThat(otherTenant.hasNoEvents()).isTrue();
    var resent = kit.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "test", RunTest.items("ok"), 2, r));
    assertThat(RunTest.accepted(resent.reply()).status()).isEqualTo("queued");
    var other = kit.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "strict", RunTest.items("ok"), 2, r));
    assertThat(other.reply()).isEqualTo(RunTest.KEY_REUSED);
    for (Run.Command leftover : java.util.List.of(Run.HoldSlot.INSTANCE, new Run.RetrySubStep(0, "0"),
        new Run.SubStepDone(0, "0", 1, new TextNode("late"), null, false))) {
      assertThat(kit.runCommand(leftover).hasNoEvents()).as(leftover.toString()).isTrue();
    }
    assertThat(queued.state().status()).isEqualTo(RunState.Status.QUEUED);
    assertThat(limiter.calls("hold", queued.id())).isZero();
    assertThat(TestRunType.executions(queued.id(), "0")).isZero();

    TestRunType.GATES.get(gate).complete(new TextNode("opened"));
    awaitStatus(queued, RunState.Status.SUCCEEDED);
  }

  @Test
  void aGrantThatReachesARunningRunKeepsItsSlotHeld() {
    String gate = "admit-" + UUID.randomUUID();
    TestRun run = holdingTheSlot(gate);

    // As when it asked twice across a restart: the second grant is of the slot it holds.
    assertThat(run.kit().runCommand(new Run.SlotAnswer(true)).hasNoEvents()).isTrue();
    assertThat(limiter.held()).containsExactly(run.id());
    assertThat(limiter.calls("release", run.id())).isZero();

    TestRunType.GATES.get(gate).complete(new TextNode("opened"));
    awaitStatus(run, RunState.Status.SUCCEEDED);
    await(() -> assertThat(limiter.held()).isEmpty());
  }
}
