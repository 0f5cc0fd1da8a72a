package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models per task on a real node: a tenant whose default is a cheap model (the light work:
 * the search rewrite and follow-ups, a run's prompts) pins a strong one for search answers
 * and chat, and lets requests name only the strong one ({@code models.allowed}). Every call's usage row
 * says which model answered it; a request naming the cheap model is refused in its door's
 * shape, listing the models it may name.
 */
class ModelTasksTest {
  static final String KEY = "tasks-key-" + UUID.randomUUID();
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    Files.writeString(tenantsDir.resolve("tasks.json"), """
        {"id": "tasks", "display_name": "Tasks",
         "api_keys": [{"id": "k_tasks", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "cheap",
                    "models": {"strong": {"provider": "up", "upstream_model": "mock-strong"},
                               "cheap": {"provider": "up", "upstream_model": "mock-cheap"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}},
                    "tasks": {"chat": "strong", "search_answer": "strong"},
                    "allowed": ["strong"]},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}},
                         "search": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY), mock.baseUrl()));
    db = TestDatabase.fresh("tasks");
    node = TestNode.start("tasks", db, TenantRegistry.load(tenantsDir, false),
        Map.of("atrium.usage.flush-interval", "50ms", "atrium.runs.batch.retry-backoff", "50ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
  }

  static String[] auth(String requestId) {
    return new String[] {"Authorization", "Bearer " + KEY, "x-request-id", requestId};
  }

  @Test
  void theTaskNamesAreTheOperationsOfTheirUsageRows() {
    assertThat(Arrays.stream(ModelTask.values()).map(ModelTask::wireName)).containsExactly(UsageRecord.CHAT,
        UsageRecord.SEARCH_REWRITE, UsageRecord.SEARCH_ANSWER, UsageRecord.SEARCH_FOLLOW_UPS, UsageRecord.RUN_PROMPT);
  }

  @Test
  void searchRewritesAndSuggestsWithTheCheapModelAndAnswersWithTheStrongOne() {
    var ingested = http.postJson("/v1/documents", """
        {"id": "ferry", "source": "ferry.md", "content_type": "text/markdown",
         "content": "# Ferry\\n\\nThe first ferry to Belle-Ile leaves Quiberon at 7:10 every weekday."}""", auth("req-ingest"));
    assertThat(ingested.statusCode()).as(ingested.body()).isEqualTo(202);
    RunApiTest.poll(http, KEY, TestHttp.json(ingested).path("run_id").asText(), "succeeded");
    // The mock answers every rewrite with its own text; the search still finds the only document.
    await(Duration.ofSeconds(30), () -> {
      var searched = http.postJson("/v1/search", "{\"query\": \"when does the first ferry leave?\"}", auth("req-search"));
      assertThat(searched.statusCode()).as(searched.body()).isEqualTo(200);
      assertThat(TestHttp.json(searched).path("sources").findValuesAsText("doc_id")).contains("ferry");
    });
    await(Duration.ofSeconds(10), () -> assertThat(UsageTest.rowsIn(db, "request_id = ? and operation like 'search_%'",
        "req-search")).extracting(r -> r.get("operation") + "=" + r.get("model") + "/" + r.get("upstream_model"))
        .contains("search_rewrite=cheap/mock-cheap", "search_answer=strong/mock-strong",
            "search_follow_ups=cheap/mock-cheap"));
  }

  @Test
  void aRunWithoutAModelUsesTheDefaultAndAnItemNamingADisallowedModelFails() {
    var r = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [\"one\", \"two\"]}}", auth("req-run"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    String runId = TestHttp.json(r).path("run_id").asText();
    RunApiTest.poll(http, KEY, runId, "succeeded");
    await(Duration.ofSeconds(10), () -> assertThat(UsageTest.rowsIn(db, "run_id = ?", runId))
        .hasSize(2).allSatisfy(row -> assertThat(row).containsEntry("model", "cheap")
            .containsEntry("upstream_model", "mock-cheap")));

    var named = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [\"one\"], \"model\": \"cheap\"}}",
        auth("req-run-named"));
    assertThat(named.statusCode()).as(named.body()).isEqualTo(202);
    // A batch's item fails as a business failure (no retries); the run itself completes.
    JsonNode done = RunApiTest.poll(http, KEY, TestHttp.json(named).path("run_id").asText(), "succeeded");
    assertThat(done.path("result").path("failed").asInt()).isEqualTo(1);
    assertThat(done.path("result").path("items").get(0).path("error").asText())
        .isEqualTo("unknown model cheap; this tenant's models are [strong]");
    assertThat(done.path("attempts").asInt()).isZero();
  }

  @Test
  void aCompletionNamingADisallowedModelIsA404ListingTheAllowedOnes() {
    var refused = http.postJson("/v1/chat/completions",
        "{\"model\": \"cheap\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", auth("req-cheap"));
    assertThat(refused.statusCode()).isEqualTo(404);
    JsonNode error = TestHttp.json(refused).path("error");
    assertThat(error.path("code").asText()).isEqualTo("model_not_found");
    assertThat(error.path("param").asText()).isEqualTo("model");
    assertThat(error.path("message").asText()).contains("`cheap`").contains("[strong]");

    var allowed = http.postJson("/v1/chat/completions",
        "{\"model\": \"strong\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", auth("req-strong"));
    assertThat(allowed.statusCode()).as(allowed.body()).isEqualTo(200);
    assertThat(UsageTest.row(db, "request_id = ?", "req-strong")).containsEntry("upstream_model", "mock-strong");

    JsonNode models = TestHttp.json(http.get("/v1/models", auth("req-models")));
    assertThat(models.path("data").findValuesAsText("id")).containsExactly("strong");
    assertThat(http.get("/v1/models/cheap", auth("req-model-cheap")).statusCode()).isEqualTo(404);
  }

  @Test
  void aSessionNamingADisallowedModelIsA400AndOneNamingNoneChatsWithTheChatTasksModel() {
    var refused = http.postJson("/v1/chat/sessions", "{\"model\": \"cheap\"}", auth("req-session-cheap"));
    assertThat(refused.statusCode()).isEqualTo(400);
    JsonNode problem = TestHttp.json(refused);
    assertThat(problem.path("code").asText()).isEqualTo("unknown_model");
    assertThat(problem.path("allowed_models")).extracting(JsonNode::asText).containsExactly("strong");

    var created = http.postJson("/v1/chat/sessions", "{}", auth("req-session"));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String sessionId = TestHttp.json(created).path("id").asText();
    assertThat(TestHttp.json(created).path("model").asText()).isEqualTo("strong");
    var turn = http.postJson("/v1/chat/sessions/" + sessionId + "/messages",
        "{\"content\": \"hello\", \"stream\": false}", auth("req-turn"));
    assertThat(turn.statusCode()).as(turn.body()).isEqualTo(200);
    assertThat(UsageTest.row(db, "request_id = ?", "req-turn")).containsEntry("operation", "chat")
        .containsEntry("upstream_model", "mock-strong");
    var namedTurn = http.postJson("/v1/chat/sessions/" + sessionId + "/messages",
        "{\"content\": \"hello\", \"model\": \"cheap\", \"stream\": false}", auth("req-turn-cheap"));
    assertThat(namedTurn.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(namedTurn).path("allowed_models").toString()).isEqualTo("[\"strong\"]");
  }
}
