package dev.atrium.runs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.atrium.core.Json;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.Tier;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The Run entity's transitions, retries, cancel and resume, with every message serialized. */
class RunTest {
  static final ActorTestKit testKit = TestRunType.newTestKit();
  static final RunTypes TYPES = TestRunType.both(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  final String runId = UUID.randomUUID().toString();
  final EventSourcedBehaviorTestKit<Run.Command, Run.Event, RunState> run = EventSourcedBehaviorTestKit.create(
      testKit.system(), Run.create(runId, TYPES, Clock.systemUTC(), Duration.ofHours(1),
          RunAdmission.unlimited()));

  /** The owner of the tests' runs (key {@code k_1}) as a caller of {@code tenantId}. */
  static Caller key(String tenantId) {
    return Caller.of(tenantId, Owner.key("k_1"));
  }

  // Each rejection as the routes answer it: reason (the HTTP status), code and detail.
  static final Reply<RunView> NOT_FOUND = new Reply.Rejected<>(Reply.Reason.NOT_FOUND, "not_found", "No such run.");
  static final Reply<RunView> FINISHED =
      new Reply.Rejected<>(Reply.Reason.CONFLICT, "run_finished", "The run has finished already.");
  static final Reply<RunView> KEY_REUSED = new Reply.Rejected<>(Reply.Reason.CONFLICT, "idempotency_key_reused",
      "This Idempotency-Key was sent before with another type or input; use a new key for a new run.");

  /** The accepted run; fails the test on a rejection. */
  static RunView accepted(Reply<RunView> reply) {
    assertThat(reply).isInstanceOf(Reply.Accepted.class);
    return ((Reply.Accepted<RunView>) reply).value();
  }

  static JsonNode items(String... items) {
    var node = Json.MAPPER.createObjectNode();
    var array = node.putArray("items");
    for (String item : items) {
      array.add(item);
    }
    return node;
  }

  RunView create(String type, String... items) {
    var created = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, type, items(items), 2, r));
    assertThat(created.reply().accepted()).isTrue();
    assertThat(created.event()).isInstanceOf(Run.Created.class);
    return accepted(created.reply());
  }

  RunState awaitStatus(RunState.Status status) {
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      assertThat(run.getState().status()).isEqualTo(status);
      return null;
    });
    return run.getState();
  }

  @Test
  void goesFromQueuedThroughRunningToSucceeded() {
    RunView created = create("test", "ok", "ok", "ok");
    assertThat(created.status()).isEqualTo("queued");
    assertThat(created.steps()).extracting(RunView.StepView::name).containsExactly("work", "sum");

    RunState done = awaitStatus(RunState.Status.SUCCEEDED);
    assertThat(done.progress()).isEqualTo(100);
    assertThat(done.result().asInt()).isEqualTo(3);
    assertThat(done.startedAt()).isNotNull();
    assertThat(done.endedAt()).isNotNull();
    assertThat(done.steps().get(0).results()).containsEntry("1", new TextNode("done-1"));
  }

  @Test
  void retriesInfrastructureFailuresWithBackoff() {
    create("test", "infra:2", "ok");
    RunState done = awaitStatus(RunState.Status.SUCCEEDED);
    assertThat(TestRunType.executions(runId, "0")).isEqualTo(3);
    assertThat(done.attempts(0, "0")).isEqualTo(2);
    assertThat(done.steps().get(0).results()).containsEntry("0", new TextNode("recovered-0"));
  }

  @Test
  void givesUpAfterTheRetryLimitAndListsThePartialFailure() {
    create("test", "infra:10", "ok");
    RunState done = awaitStatus(RunState.Status.SUCCEEDED);
    assertThat(TestRunType.executions(runId, "0")).isEqualTo(4);
    assertThat(done.steps().get(0).failures()).containsKey("0");
    assertThat(done.result().asInt()).isEqualTo(1);
  }

  @Test
  void neverRetriesABusinessFailure() {
    create("test", "business", "ok");
    RunState done = awaitStatus(RunState.Status.SUCCEEDED);
    assertThat(TestRunType.executions(runId, "0")).isEqualTo(1);
    assertThat(done.steps().get(0).failures().get("0")).contains("invalid item 0");
  }

  @Test
  void aStepThatMustNotFailFailsTheRun() {
    create("strict", "ok", "business");
    RunState done = awaitStatus(RunState.Status.FAILED);
    assertThat(done.error()).contains("work failed").contains("invalid item 1");
    // The second step never ran.
    assertThat(TestRunType.executions(runId, "total")).isZero();
  }

  @Test
  void cancelStopsTheRunningStepAndIsRecorded() {
    create("test", "hang", "hang");
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertThat(TestRunType.executions(runId, "1")).isEqualTo(1);
      return null;
    });
    var cancel = run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("acme"), r));
    assertThat(cancel.reply().accepted()).isTrue();
    RunState done = awaitStatus(RunState.Status.CANCELLED);
    assertThat(done.error()).isEqualTo("cancelled");
    var again = run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("acme"), r));
    assertThat(again.reply()).isEqualTo(FINISHED);
  }

  @Test
  void aSecondCreateOfTheSameRunAnswersItAndAnotherRequestConflicts() {
    RunView first = create("test", "ok", "ok");
    var same = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "test", items("ok", "ok"), 2, r));
    // (the run advances meanwhile: its own events may land during these commands, never a Created)
    assertThat(same.events()).noneMatch(e -> e instanceof Run.Created);
    assertThat(accepted(same.reply()).runId()).isEqualTo(first.runId());
    var otherInput = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "test", items("ok"), 2, r));
    var otherType = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "strict", items("ok", "ok"), 2, r));
    var otherTenant = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("other"), null, Tier.PAID, "test", items("ok", "ok"), 2, r));
    assertThat(otherInput.reply()).isEqualTo(KEY_REUSED);
    assertThat(otherType.reply()).isEqualTo(KEY_REUSED);
    assertThat(otherTenant.reply()).isEqualTo(NOT_FOUND);
    assertThat(java.util.stream.Stream.of(otherInput, otherType, otherTenant).flatMap(c -> c.events().stream()))
        .noneMatch(e -> e instanceof Run.Created);
  }

  @Test
  void anotherTenantGetsNotFound() {
    create("test", "ok");
    var get = run.<Reply<RunView>>runCommand(r -> new Run.Get(RunTest.key("other"), r));
    var cancel = run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("other"), r));
    assertThat(get.reply()).isEqualTo(NOT_FOUND);
    assertThat(cancel.reply()).isEqualTo(NOT_FOUND);
    assertThat(cancel.hasNoEvents()).isTrue();
  }

  @Test
  void aUsersRunIsSeenByThatUserFromAnyPrincipalAndByTheAdminButNotByAnotherUserOrAKey() {
    Principal phone = new Principal(Principal.Kind.USER, "acme", Tier.PAID, Optional.empty(), Optional.of("u_1"),
        Optional.of("acct_1"), "10.0.0.1");
    Principal laptop = new Principal(Principal.Kind.USER, "acme", Tier.PAID, Optional.empty(), Optional.of("u_1"),
        Optional.empty(), "10.0.0.2");
    var created = run.<Reply<RunView>>runCommand(r -> new Run.Create(Caller.of(phone).orElseThrow(), "acct_1",
        Tier.PAID, "test", items("ok"), 2, r));
    assertThat(created.reply().accepted()).isTrue();
    RunState.Spec spec = ((Run.Created) created.event()).spec();
    assertThat(spec.owner()).isEqualTo(Owner.user("u_1"));
    assertThat(spec.accountId()).isEqualTo("acct_1");
    assertThat(spec.tier()).isEqualTo(Tier.PAID);

    Caller otherUser = Caller.of("acme", Owner.user("u_2"));
    Caller keyOfTheSameId = Caller.of("acme", Owner.key("u_1"));
    for (Caller stranger : List.of(otherUser, keyOfTheSameId)) {
      assertThat(run.<Reply<RunView>>runCommand(r -> new Run.Get(stranger, r)).reply()).isEqualTo(NOT_FOUND);
      var cancel = run.<Reply<RunView>>runCommand(r -> new Run.Cancel(stranger, r));
      assertThat(cancel.reply()).isEqualTo(NOT_FOUND);
      assertThat(cancel.hasNoEvents()).isTrue();
    }
    assertThat(accepted(run.<Reply<RunView>>runCommand(r -> new Run.Get(Caller.of(laptop).orElseThrow(), r)).reply())
        .runId()).isEqualTo(runId);
    assertThat(accepted(run.<Reply<RunView>>runCommand(r -> new Run.Get(Caller.admin("acme"), r)).reply()).runId())
        .isEqualTo(runId);
    assertThat(run.<Reply<RunView>>runCommand(r -> new Run.Get(Caller.admin("other"), r)).reply()).isEqualTo(NOT_FOUND);

    run.restart();
    assertThat(run.getState().spec().orElseThrow().owner()).isEqualTo(Owner.user("u_1"));
    assertThat(run.<Reply<RunView>>runCommand(r -> new Run.Get(otherUser, r)).reply()).isEqualTo(NOT_FOUND);
  }

  @Test
  void anAdminStartsNoRun() {
    var created = run.<Reply<RunView>>runCommand(r -> new Run.Create(Caller.admin("acme"), null, Tier.PAID, "test",
        items("ok"), 2, r));
    assertThat(created.reply()).isEqualTo(NOT_FOUND);
    assertThat(created.hasNoEvents()).isTrue();
  }

  @Test
  void aRestartMidRunResumesAtTheFirstUnfinishedSubStepAndNeverRepeatsAFinishedOne() {
    String gate = "gate-" + runId;
    create("test", "ok", "ok", "gate:" + gate);
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertThat(run.getState().steps().get(0).results()).hasSize(2);
      assertThat(TestRunType.executions(runId, "2")).isEqualTo(1);
      return null;
    });

    run.restart();
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertThat(TestRunType.executions(runId, "2")).isEqualTo(2);
      return null;
    });
    TestRunType.GATES.get(gate).complete(new TextNode("opened"));

    RunState done = awaitStatus(RunState.Status.SUCCEEDED);
    assertThat(done.result().asInt()).isEqualTo(3);
    assertThat(TestRunType.executions(runId, "0")).isEqualTo(1);
    assertThat(TestRunType.executions(runId, "1")).isEqualTo(1);
  }

  @Test
  void aRunPastItsDeadlineFails() {
    create("test", "hang");
    run.runCommand(new Run.Expire("timed out"));
    RunState done = awaitStatus(RunState.Status.FAILED);
    assertThat(done.error()).isEqualTo("timed out");
  }

  // ---- what each stage does not take (the queued stage: RunAdmissionTest) ----------------

  @Test
  void aRunNeverCreatedIsNotFoundAndIgnoresTheSupervisorAndLeftovers() {
    assertThat(run.<Reply<RunView>>runCommand(r -> new Run.Get(RunTest.key("acme"), r)).reply()).isEqualTo(NOT_FOUND);
    var cancel = run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("acme"), r));
    assertThat(cancel.reply()).isEqualTo(NOT_FOUND);
    assertThat(cancel.hasNoEvents()).isTrue();
    for (Run.Command leftover : java.util.List.of(Run.Wake.INSTANCE, new Run.Expire("timed out"), Run.Advance.INSTANCE,
        Run.HoldSlot.INSTANCE, new Run.SlotAnswer(true), new Run.RetrySubStep(0, "0"),
        new Run.SubStepDone(0, "0", 1, new TextNode("late"), null, false))) {
      assertThat(run.runCommand(leftover).hasNoEvents()).as(leftover.toString()).isTrue();
    }
    assertThat(run.getState()).isEqualTo(RunState.EMPTY);
  }

  @Test
  void aRunningRunRefusesAnotherTenantAndAnotherRequestAndIgnoresALateAnswer() {
    create("test", "hang", "ok");
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertThat(run.getState().steps().get(0).results()).containsKey("1");
      assertThat(TestRunType.executions(runId, "0")).isEqualTo(1);
      return null;
    });
    assertThat(run.<Reply<RunView>>runCommand(r -> new Run.Get(RunTest.key("other"), r)).reply()).isEqualTo(NOT_FOUND);
    var cancel = run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("other"), r));
    assertThat(cancel.reply()).isEqualTo(NOT_FOUND);
    assertThat(cancel.hasNoEvents()).isTrue();
    var otherInput = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "test", items("ok"), 2, r));
    assertThat(otherInput.reply()).isEqualTo(KEY_REUSED);
    assertThat(accepted(run.<Reply<RunView>>runCommand(r -> new Run.Get(RunTest.key("acme"), r)).reply()).status())
        .isEqualTo("running");

    // An answer of an attempt from before a restart, for a sub-step settled since: nothing changes.
    var late = run.runCommand(new Run.SubStepDone(0, "1", 1, new TextNode("late"), null, false));
    assertThat(late.hasNoEvents()).isTrue();
    assertThat(run.getState().steps().get(0).results()).containsEntry("1", new TextNode("done-1"));
    assertThat(TestRunType.executions(runId, "0")).isEqualTo(1);

    accepted(run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("acme"), r)).reply());
    awaitStatus(RunState.Status.CANCELLED);
  }

  @Test
  void anEndedRunRefusesCancelAndIgnoresTheSupervisor() {
    create("test", "ok");
    RunState done = awaitStatus(RunState.Status.SUCCEEDED);
    var cancel = run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("acme"), r));
    assertThat(cancel.reply()).isEqualTo(FINISHED);
    assertThat(cancel.hasNoEvents()).isTrue();
    assertThat(run.<Reply<RunView>>runCommand(r -> new Run.Cancel(RunTest.key("other"), r)).reply()).isEqualTo(NOT_FOUND);
    assertThat(run.<Reply<RunView>>runCommand(r -> new Run.Get(RunTest.key("other"), r)).reply()).isEqualTo(NOT_FOUND);
    assertThat(accepted(run.<Reply<RunView>>runCommand(r -> new Run.Get(RunTest.key("acme"), r)).reply()).status())
        .isEqualTo("succeeded");
    var resent = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "test", items("ok"), 2, r));
    assertThat(accepted(resent.reply()).status()).isEqualTo("succeeded");
    var otherType = run.<Reply<RunView>>runCommand(r -> new Run.Create(RunTest.key("acme"), null, Tier.PAID, "strict", items("ok"), 2, r));
    assertThat(otherType.reply()).isEqualTo(KEY_REUSED);

    for (Run.Command leftover : java.util.List.of(Run.Wake.INSTANCE, new Run.Expire("timed out"), Run.Advance.INSTANCE,
        Run.HoldSlot.INSTANCE, new Run.RetrySubStep(0, "0"))) {
      assertThat(run.runCommand(leftover).hasNoEvents()).as(leftover.toString()).isTrue();
    }
    assertThat(run.getState()).isEqualTo(done);
    assertThat(TestRunType.executions(runId, "0")).isEqualTo(1);
  }
}
