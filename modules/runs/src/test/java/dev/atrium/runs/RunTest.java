package dev.atrium.runs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.atrium.core.Json;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
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

  static JsonNode items(String... items) {
    var node = Json.MAPPER.createObjectNode();
    var array = node.putArray("items");
    for (String item : items) {
      array.add(item);
    }
    return node;
  }

  RunView create(String type, String... items) {
    var created = run.<StatusReply<RunView>>runCommand(r -> new Run.Create("acme", "k_1", type, items(items), 2, r));
    assertThat(created.reply().isSuccess()).isTrue();
    assertThat(created.event()).isInstanceOf(Run.Created.class);
    return created.reply().getValue();
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
    var cancel = run.<StatusReply<RunView>>runCommand(r -> new Run.Cancel("acme", r));
    assertThat(cancel.reply().isSuccess()).isTrue();
    RunState done = awaitStatus(RunState.Status.CANCELLED);
    assertThat(done.error()).isEqualTo("cancelled");
    var again = run.<StatusReply<RunView>>runCommand(r -> new Run.Cancel("acme", r));
    assertThat(again.reply().getError()).hasMessage(Run.FINISHED);
  }

  @Test
  void aSecondCreateOfTheSameRunAnswersItAndAnotherRequestConflicts() {
    RunView first = create("test", "ok", "ok");
    var same = run.<StatusReply<RunView>>runCommand(r -> new Run.Create("acme", "k_1", "test", items("ok", "ok"), 2, r));
    // (the run advances meanwhile: its own events may land during these commands, never a Created)
    assertThat(same.events()).noneMatch(e -> e instanceof Run.Created);
    assertThat(same.reply().getValue().runId()).isEqualTo(first.runId());
    var otherInput = run.<StatusReply<RunView>>runCommand(r -> new Run.Create("acme", "k_1", "test", items("ok"), 2, r));
    var otherType = run.<StatusReply<RunView>>runCommand(r -> new Run.Create("acme", "k_1", "strict", items("ok", "ok"), 2, r));
    var otherTenant = run.<StatusReply<RunView>>runCommand(r -> new Run.Create("other", "k_1", "test", items("ok", "ok"), 2, r));
    assertThat(otherInput.reply().getError()).hasMessage(Run.IDEMPOTENCY_CONFLICT);
    assertThat(otherType.reply().getError()).hasMessage(Run.IDEMPOTENCY_CONFLICT);
    assertThat(otherTenant.reply().getError()).hasMessage(Run.NOT_FOUND);
    assertThat(java.util.stream.Stream.of(otherInput, otherType, otherTenant).flatMap(c -> c.events().stream()))
        .noneMatch(e -> e instanceof Run.Created);
  }

  @Test
  void anotherTenantGetsNotFound() {
    create("test", "ok");
    var get = run.<StatusReply<RunView>>runCommand(r -> new Run.Get("other", r));
    var cancel = run.<StatusReply<RunView>>runCommand(r -> new Run.Cancel("other", r));
    assertThat(get.reply().getError()).hasMessage(Run.NOT_FOUND);
    assertThat(cancel.reply().getError()).hasMessage(Run.NOT_FOUND);
    assertThat(cancel.hasNoEvents()).isTrue();
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
}
