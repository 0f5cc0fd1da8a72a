package dev.atrium.server;

import static dev.atrium.server.ChatTestTenants.ALPHA_KEY;
import static dev.atrium.server.ChatTestTenants.BETA_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs on a real node: batch runs against the mock upstream, polling, SSE, cancel, isolation, admission. */
class RunApiTest {
  static final String SOLO_KEY = "solo-key-" + java.util.UUID.randomUUID();
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    // A tenant that runs one run at a time, on the mock upstream.
    Files.writeString(tenantsDir.resolve("solo.json"), """
        {"id": "solo", "display_name": "Solo",
         "api_keys": [{"id": "k_solo", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 10000, "max_retries": 1}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}},
         "runs": {"max_running": 1}}
        """.formatted(ApiKeys.sha256(SOLO_KEY), mock.baseUrl()));
    db = TestDatabase.fresh("run_api");
    node = TestNode.start("runs", db, ChatTestTenants.write(tenantsDir, mock.baseUrl()),
        Map.of("atrium.runs.batch.retry-backoff", "50ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  static String auth(String key) {
    return "Bearer " + key;
  }

  static String startBatch(TestHttp http, String key, int prompts) {
    StringBuilder list = new StringBuilder();
    for (int i = 0; i < prompts; i++) {
      list.append(i == 0 ? "" : ",").append("\"prompt ").append(i).append("\"");
    }
    var r = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [" + list + "]}}",
        "Authorization", auth(key));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    JsonNode body = TestHttp.json(r);
    String runId = body.path("run_id").asText();
    assertThat(body.path("status").asText()).isEqualTo("queued");
    assertThat(body.path("poll_url").asText()).isEqualTo("/v1/runs/" + runId);
    assertThat(body.path("events_url").asText()).isEqualTo("/v1/runs/" + runId + "/events");
    return runId;
  }

  static JsonNode poll(TestHttp http, String key, String runId, String status) {
    JsonNode[] last = new JsonNode[1];
    ChatApiTest.await(Duration.ofSeconds(60), () -> {
      last[0] = TestHttp.json(http.get("/v1/runs/" + runId, "Authorization", auth(key)));
      assertThat(last[0].path("status").asText()).as(last[0].toString()).isEqualTo(status);
    });
    return last[0];
  }

  @Test
  void aBatchRunGoesFromQueuedToSucceededWithEachAnswer() {
    mock.configure(MockLlm.Behaviour.defaults().withChunkDelay(Duration.ofMillis(20)));
    String runId = startBatch(http, ALPHA_KEY, 5);
    JsonNode done = poll(http, ALPHA_KEY, runId, "succeeded");
    assertThat(done.path("progress").asInt()).isEqualTo(100);
    JsonNode result = done.path("result");
    assertThat(result.path("succeeded").asInt()).isEqualTo(5);
    assertThat(result.path("failed").asInt()).isZero();
    assertThat(result.path("items")).hasSize(5);
    assertThat(result.path("items").get(3).path("answer").asText()).isEqualTo(ChatApiTest.expectedText(8));
    assertThat(result.path("items").get(3).path("index").asInt()).isEqualTo(3);
    assertThat(mock.stats().requests()).isEqualTo(5);
  }

  @Test
  void anIdempotencyKeyMakesAResentCreateReturnTheSameRun() {
    String body = "{\"type\": \"batch\", \"input\": {\"prompts\": [\"one\", \"two\", \"three\"]}}";
    String key = "create-" + java.util.UUID.randomUUID();
    var first = http.postJson("/v1/runs", body, "Authorization", auth(ALPHA_KEY), "Idempotency-Key", key);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
    String runId = TestHttp.json(first).path("run_id").asText();
    var again = http.postJson("/v1/runs", body, "Authorization", auth(ALPHA_KEY), "Idempotency-Key", key);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(202);
    assertThat(TestHttp.json(again).path("run_id").asText()).isEqualTo(runId);

    JsonNode done = poll(http, ALPHA_KEY, runId, "succeeded");
    assertThat(done.path("result").path("succeeded").asInt()).isEqualTo(3);
    // A resend after the end still names the same run, which ran once.
    var late = http.postJson("/v1/runs", body, "Authorization", auth(ALPHA_KEY), "Idempotency-Key", key);
    assertThat(late.statusCode()).isEqualTo(202);
    assertThat(TestHttp.json(late).path("run_id").asText()).isEqualTo(runId);
    assertThat(TestHttp.json(late).path("status").asText()).isEqualTo("succeeded");
    assertThat(mock.stats().requests()).isEqualTo(3);

    // The same key with another request is a conflict, and creates nothing.
    var other = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [\"four\"]}}",
        "Authorization", auth(ALPHA_KEY), "Idempotency-Key", key);
    assertThat(other.statusCode()).as(other.body()).isEqualTo(409);
    assertThat(TestHttp.json(other).path("code").asText()).isEqualTo("idempotency_key_reused");
    assertThat(other.headers().firstValue("Content-Type")).hasValue("application/problem+json");

    // Another tenant's key with the same Idempotency-Key gets a run of its own.
    var theirs = http.postJson("/v1/runs", body, "Authorization", auth(BETA_KEY), "Idempotency-Key", key);
    assertThat(theirs.statusCode()).as(theirs.body()).isEqualTo(202);
    assertThat(TestHttp.json(theirs).path("run_id").asText()).isNotEqualTo(runId);
    poll(http, BETA_KEY, TestHttp.json(theirs).path("run_id").asText(), "succeeded");

    // A key that is not 1-255 visible ASCII characters is refused before any work.
    long before = mock.stats().requests();
    var bad = http.postJson("/v1/runs", body, "Authorization", auth(ALPHA_KEY), "Idempotency-Key", "has space");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(bad).path("code").asText()).isEqualTo("invalid_idempotency_key");
    assertThat(TestHttp.json(bad).path("param").asText()).isEqualTo("Idempotency-Key");
    assertThat(mock.stats().requests()).isEqualTo(before);
  }

  @Test
  void aRunBeyondTheTenantsMaxRunningWaitsQueuedUntilTheRunningOneEnds() {
    // max_running 1: two runs back to back, each of two prompts of about 3 s.
    mock.configure(MockLlm.Behaviour.defaults().withChunks(30).withChunkDelay(Duration.ofMillis(100)));
    String first = startBatch(http, SOLO_KEY, 2);
    String second = startBatch(http, SOLO_KEY, 2);

    poll(http, SOLO_KEY, first, "running");
    JsonNode waiting = TestHttp.json(http.get("/v1/runs/" + second, "Authorization", auth(SOLO_KEY)));
    assertThat(waiting.path("status").asText()).as(waiting.toString()).isEqualTo("queued");
    assertThat(waiting.path("started_at").isNull()).isTrue();
    // Only the running run's prompts reached the upstream, and it is still running.
    assertThat(mock.stats().requests()).isLessThanOrEqualTo(2);
    assertThat(TestHttp.json(http.get("/v1/runs/" + first, "Authorization", auth(SOLO_KEY))).path("status").asText())
        .isEqualTo("running");

    JsonNode firstDone = poll(http, SOLO_KEY, first, "succeeded");
    JsonNode secondDone = poll(http, SOLO_KEY, second, "succeeded");
    assertThat(firstDone.path("result").path("succeeded").asInt()).isEqualTo(2);
    assertThat(secondDone.path("result").path("succeeded").asInt()).isEqualTo(2);
    assertThat(Instant.parse(secondDone.path("started_at").asText()))
        .isAfterOrEqualTo(Instant.parse(firstDone.path("ended_at").asText()));
    assertThat(mock.stats().requests()).isEqualTo(4);
  }

  @Test
  void progressIsStreamedAsEventsEndingWithTheTerminalState() {
    // 30 prompts at 10 at a time: three waves of about 0.4 s, so progress moves in steps.
    mock.configure(MockLlm.Behaviour.defaults().withChunks(5).withChunkDelay(Duration.ofMillis(80)));
    String runId = startBatch(http, ALPHA_KEY, 30);
    var r = http.get("/v1/runs/" + runId + "/events", "Authorization", auth(ALPHA_KEY));
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    var events = SseEvents.parse(r.body()).ofType("run");
    assertThat(events.size()).isGreaterThanOrEqualTo(3);
    assertThat(events.get(0).json().path("status").asText()).isIn("queued", "running");
    assertThat(events.get(events.size() - 1).json().path("status").asText()).isEqualTo("succeeded");
    int last = -1;
    for (var e : events) {
      int progress = e.json().path("progress").asInt();
      assertThat(progress).isGreaterThanOrEqualTo(last);
      last = progress;
    }
    assertThat(events.stream().map(e -> e.json().path("progress").asInt()).distinct().count()).isGreaterThan(2);
  }

  @Test
  void cancelStopsARunAndItsUpstreamCalls() {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(200).withChunkDelay(Duration.ofMillis(50)));
    String runId = startBatch(http, ALPHA_KEY, 30);
    ChatApiTest.await(Duration.ofSeconds(10), () -> assertThat(mock.stats().openStreams()).isPositive());
    var cancel = http.postJson("/v1/runs/" + runId + "/cancel", "{}", "Authorization", auth(ALPHA_KEY));
    assertThat(cancel.statusCode()).isEqualTo(202);
    JsonNode done = poll(http, ALPHA_KEY, runId, "cancelled");
    assertThat(done.path("progress").asInt()).isLessThan(100);
    ChatApiTest.await(Duration.ofSeconds(5), () -> assertThat(mock.stats().openStreams()).isZero());
    assertThat(mock.stats().streamsCancelled()).isPositive();
    assertThat(mock.stats().requests()).isLessThan(30);

    var again = http.postJson("/v1/runs/" + runId + "/cancel", "{}", "Authorization", auth(ALPHA_KEY));
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(TestHttp.json(again).path("code").asText()).isEqualTo("run_finished");
  }

  @Test
  void failedPromptsAreListedAndTheRunStillSucceeds() {
    mock.configure(MockLlm.Behaviour.defaults().failing(400, Integer.MAX_VALUE));
    String runId = startBatch(http, ALPHA_KEY, 3);
    JsonNode done = poll(http, ALPHA_KEY, runId, "succeeded");
    assertThat(done.path("result").path("failed").asInt()).isEqualTo(3);
    assertThat(done.path("result").path("items").get(0).path("error").asText()).contains("400");
    // Business failures are not retried.
    assertThat(mock.stats().requests()).isEqualTo(3);
  }

  @Test
  void infrastructureFailuresAreRetried() {
    mock.configure(MockLlm.Behaviour.defaults().failing(503, 2));
    String runId = startBatch(http, ALPHA_KEY, 1);
    JsonNode done = poll(http, ALPHA_KEY, runId, "succeeded");
    assertThat(done.path("result").path("succeeded").asInt()).isEqualTo(1);
    assertThat(done.path("attempts").asInt()).isPositive();
  }

  @Test
  void anotherTenantsRunIs404EverywhereAndListsComeFromTheProjection() {
    String runId = startBatch(http, ALPHA_KEY, 1);
    poll(http, ALPHA_KEY, runId, "succeeded");
    assertThat(http.get("/v1/runs/" + runId, "Authorization", auth(BETA_KEY)).statusCode()).isEqualTo(404);
    assertThat(http.get("/v1/runs/" + runId + "/events", "Authorization", auth(BETA_KEY)).statusCode()).isEqualTo(404);
    assertThat(http.postJson("/v1/runs/" + runId + "/cancel", "{}", "Authorization", auth(BETA_KEY)).statusCode())
        .isEqualTo(404);
    assertThat(http.get("/v1/runs/not-a-uuid", "Authorization", auth(ALPHA_KEY)).statusCode()).isEqualTo(404);

    String betaRun = startBatch(http, BETA_KEY, 1);
    ChatApiTest.await(Duration.ofSeconds(10), () -> {
      JsonNode mine = TestHttp.json(http.get("/v1/runs?status=succeeded&limit=100", "Authorization", auth(ALPHA_KEY)));
      assertThat(mine.path("data").findValuesAsText("run_id")).contains(runId).doesNotContain(betaRun);
    });
    JsonNode theirs = TestHttp.json(http.get("/v1/runs", "Authorization", auth(BETA_KEY)));
    assertThat(theirs.path("data").findValuesAsText("run_id")).doesNotContain(runId);
    assertThat(http.get("/v1/runs?status=bogus", "Authorization", auth(ALPHA_KEY)).statusCode()).isEqualTo(400);

    TestHttp admin = node.adminHttp();
    JsonNode adminList = TestHttp.json(admin.get("/admin/tenants/alpha/runs", "Authorization", "Bearer " + node.adminToken));
    assertThat(adminList.path("data").findValuesAsText("run_id")).contains(runId).doesNotContain(betaRun);
    assertThat(admin.get("/admin/tenants/alpha/runs").statusCode()).isEqualTo(401);
  }

  @Test
  void badInputIsRefusedNamingTheProblem() {
    var unknown = http.postJson("/v1/runs", "{\"type\": \"teleport\", \"input\": {}}", "Authorization", auth(ALPHA_KEY));
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(unknown).path("code").asText()).isEqualTo("unknown_run_type");
    assertThat(TestHttp.json(unknown).path("detail").asText()).contains("batch");

    var schema = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [\"ok\", 7], \"extra\": 1}}",
        "Authorization", auth(ALPHA_KEY));
    assertThat(schema.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(schema).path("code").asText()).isEqualTo("invalid_input");
    assertThat(TestHttp.json(schema).path("detail").asText()).contains("input.prompts[1]").contains("input.extra");

    var missing = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {}}", "Authorization", auth(ALPHA_KEY));
    assertThat(TestHttp.json(missing).path("detail").asText()).contains("input.prompts");

    String huge = "\"" + "x".repeat(30_000) + "\"";
    StringBuilder prompts = new StringBuilder();
    // 600 KB: under the tenant's 1 MiB request limit, over the batch type's 512 KiB input limit.
    for (int i = 0; i < 20; i++) {
      prompts.append(i == 0 ? "" : ",").append(huge);
    }
    var tooBig = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [" + prompts + "]}}",
        "Authorization", auth(ALPHA_KEY));
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(TestHttp.json(tooBig).path("limit_bytes").asInt()).isEqualTo(512 * 1024);
    assertThat(mock.stats().requests()).isZero();
  }

  @Test
  void aRunContinuesAfterItsNodeStopsAndAnotherStarts() {
    // A node of its own, so this test can stop it.
    DatabaseSettings restartDb = TestDatabase.fresh("run_restart");
    mock.configure(MockLlm.Behaviour.defaults().withChunks(10).withChunkDelay(Duration.ofMillis(40)));
    String runId;
    try (TestNode first = TestNode.start("run-first", restartDb, ChatTestTenants.write(tenantsDir, mock.baseUrl()),
        Map.of("atrium.runs.supervisor-first-scan", "500ms"))) {
      runId = startBatch(first.publicHttp(), ALPHA_KEY, 24);
      ChatApiTest.await(Duration.ofSeconds(20), () -> assertThat(
          TestHttp.json(first.publicHttp().get("/v1/runs/" + runId, "Authorization", auth(ALPHA_KEY)))
              .path("progress").asInt()).isBetween(10, 90));
    }
    long requestsBefore = mock.stats().requests();
    try (TestNode second = TestNode.start("run-second", restartDb, ChatTestTenants.write(tenantsDir, mock.baseUrl()),
        Map.of("atrium.runs.supervisor-first-scan", "500ms"))) {
      // Nobody touches the run: the supervisor wakes it.
      ChatApiTest.await(Duration.ofSeconds(60), () -> assertThat(mock.stats().requests()).isGreaterThan(requestsBefore));
      JsonNode done = poll(second.publicHttp(), ALPHA_KEY, runId, "succeeded");
      assertThat(done.path("result").path("succeeded").asInt()).isEqualTo(24);
      // Finished prompts were not asked again: at most the ones in flight at the stop repeat.
      assertThat(mock.stats().requests()).isLessThanOrEqualTo(24 + 10);
    }
  }
}
