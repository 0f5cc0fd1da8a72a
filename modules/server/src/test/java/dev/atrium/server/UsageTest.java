package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.Tokens;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage of every model call on a real node: usage_events rows (tokens, cost, who, latency,
 * status) for the OpenAI door streamed and whole, a native turn, a client that leaves
 * mid-stream, embeddings, a search rewrite and a batch run's prompts; a table that refuses
 * inserts for a while loses no row; the Prometheus counters.
 */
class UsageTest {
  static final String KEY = "usage-key-" + UUID.randomUUID();
  // USD per million tokens = micro-USD per token.
  static final double INPUT = 2.5;
  static final double OUTPUT = 10;
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    Files.writeString(tenantsDir.resolve("meter.json"), """
        {"id": "meter", "display_name": "Meter",
         "api_keys": [{"id": "k_meter", "sha256": "%s", "tier": "PAID", "account": "acct_1"}],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"},
                               "unpriced": {"provider": "up", "upstream_model": "mock-unpriced"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}},
         "stream_slots": {"per_client": 50, "per_tenant": 100}}
        """.formatted(ApiKeys.sha256(KEY), mock.baseUrl()));
    db = TestDatabase.fresh("usage");
    node = TestNode.start("usage", db, TenantRegistry.load(tenantsDir, false), Map.of(
        "atrium.usage.prices.mock-model.input", INPUT,
        "atrium.usage.prices.mock-model.output", OUTPUT,
        "atrium.usage.flush-interval", "50ms",
        "atrium.usage.retry-backoff-max", "300ms",
        "atrium.runs.batch.retry-backoff", "50ms"));
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

  static String[] headers(String requestId, String... more) {
    List<String> all = new ArrayList<>(List.of("Authorization", "Bearer " + KEY, "x-request-id", requestId));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  static HttpResponse<String> completion(String requestId, String model, boolean stream) {
    var r = http.postJson("/v1/chat/completions", """
        {"model": "%s", "stream": %s, "stream_options": {"include_usage": true},
         "messages": [{"role": "user", "content": "Count for me"}]}""".formatted(model, stream), headers(requestId));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r;
  }

  /** The usage_events rows matching {@code where}, read as the owner. */
  static List<Map<String, Object>> rows(String where, Object... args) {
    return rowsIn(db, where, args);
  }

  /** The usage_events rows of {@code database} matching {@code where}, read as the owner. */
  static List<Map<String, Object>> rowsIn(DatabaseSettings database, String where, Object... args) {
    return query(database, "select * from usage_events where " + where + " order by created_at", args);
  }

  /** The rows of {@code sql} in {@code database}, read as the owner: column name → value. */
  static List<Map<String, Object>> query(DatabaseSettings database, String sql, Object... args) {
    try (Connection c = DriverManager.getConnection(database.url(), database.ownerUser(), database.ownerPassword());
        var statement = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        statement.setObject(i + 1, args[i]);
      }
      List<Map<String, Object>> rows = new ArrayList<>();
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          Map<String, Object> row = new LinkedHashMap<>();
          for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
            row.put(rs.getMetaData().getColumnName(i), rs.getObject(i));
          }
          rows.add(row);
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, Object> row(String requestId) {
    return row(db, "request_id = ?", requestId);
  }

  /** The one row of {@code database} matching {@code where}, once it is there. */
  static Map<String, Object> row(DatabaseSettings database, String where, Object... args) {
    List<Map<String, Object>> found = new ArrayList<>();
    await(Duration.ofSeconds(10), () -> {
      found.clear();
      found.addAll(rowsIn(database, where, args));
      assertThat(found).hasSize(1);
    });
    return found.get(0);
  }

  static long cost(Map<String, Object> row) {
    return Math.round(((Number) row.get("tokens_in")).intValue() * INPUT + ((Number) row.get("tokens_out")).intValue() * OUTPUT);
  }

  static void execute(String sql) {
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      c.createStatement().execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aStreamedCallThroughTheOpenAiDoorIsMeteredFromTheUpstreamsUsageChunk() {
    var r = completion("req-usage-stream", "mock", true);
    JsonNode usage = SseEvents.parse(r.body()).events().stream().filter(e -> !e.data().equals("[DONE]"))
        .map(SseEvents.Event::json).filter(j -> j.has("usage") && !j.path("usage").isNull()).findFirst().orElseThrow()
        .path("usage");
    Map<String, Object> row = row("req-usage-stream");
    assertThat(row).containsEntry("tenant_id", "meter").containsEntry("account_id", "acct_1")
        .containsEntry("key_id", "k_meter").containsEntry("operation", "chat").containsEntry("route_class", "completions")
        .containsEntry("provider", "openai:up").containsEntry("model", "mock").containsEntry("upstream_model", "mock-model")
        .containsEntry("status", "ok").containsEntry("tokens_counted", false).containsEntry("byo", false)
        .containsEntry("tier", "PAID").containsEntry("cache_hit", false).containsEntry("session_id", null)
        .containsEntry("run_id", null);
    assertThat(row.get("tokens_in")).isEqualTo(usage.path("prompt_tokens").asInt());
    assertThat(row.get("tokens_out")).isEqualTo(8).isEqualTo(usage.path("completion_tokens").asInt());
    assertThat(row.get("cost_micro_usd")).isEqualTo(cost(row));
    assertThat((Integer) row.get("first_token_ms")).isNotNull().isLessThanOrEqualTo((Integer) row.get("total_ms"));
  }

  @Test
  void aWholeCallAndAModelWithoutAPriceAreMeteredTheUnpricedWithCostNull() {
    JsonNode answer = TestHttp.json(completion("req-usage-whole", "mock", false));
    Map<String, Object> row = row("req-usage-whole");
    assertThat(row.get("tokens_in")).isEqualTo(answer.path("usage").path("prompt_tokens").asInt());
    assertThat(row.get("tokens_out")).isEqualTo(answer.path("usage").path("completion_tokens").asInt());
    assertThat(row.get("cost_micro_usd")).isEqualTo(cost(row));
    assertThat(row.get("first_token_ms")).isEqualTo(row.get("total_ms"));

    completion("req-usage-unpriced", "unpriced", false);
    Map<String, Object> unpriced = row("req-usage-unpriced");
    assertThat(unpriced).containsEntry("upstream_model", "mock-unpriced").containsEntry("cost_micro_usd", null);
    assertThat((Integer) unpriced.get("tokens_out")).isPositive();
    String metrics = node.adminHttp().get("/metrics").body();
    assertThat(metrics).contains("atrium_usage_unpriced_total{upstream_model=\"mock-unpriced\"}");
    assertThat(metrics).contains("atrium_stateless_requests_total{tenant=\"meter\"}")
        .contains("atrium_byo_requests_total{tenant=\"meter\"} 0.0")
        .contains("atrium_usage_tokens_total{kind=\"out\",model=\"mock\",tenant=\"meter\"}")
        .contains("atrium_usage_cost_micro_usd_total{model=\"mock\",tenant=\"meter\"}");
  }

  @Test
  void aClientThatLeavesMidStreamIsMeteredWithTheTokensGeneratedUntilThen() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(200).withChunkDelay(Duration.ofMillis(50)));
    var created = http.postJson("/v1/chat/sessions", "{}", headers("req-usage-session"));
    String sessionId = TestHttp.json(created).path("id").asText();
    var response = http.client().send(http.request("/v1/chat/sessions/" + sessionId + "/messages")
            .headers(headers("req-usage-leaves", "Content-Type", "application/json"))
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"content\": \"long story\"}")).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    StringBuilder received = new StringBuilder();
    try (InputStream body = response.body()) {
      byte[] buffer = new byte[256];
      while (SseEvents.parse(received.toString()).ofType("delta").size() < 5) {
        int n = body.read(buffer);
        assertThat(n).isPositive();
        received.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    }
    Map<String, Object> row = row("req-usage-leaves");
    assertThat(row).containsEntry("status", "cancelled").containsEntry("tokens_counted", true)
        .containsEntry("session_id", sessionId).containsEntry("route_class", "chat");
    // What was generated until the cancel, counted with the tokenizer, as the session stored it.
    JsonNode stored = TestHttp.json(http.get("/v1/chat/sessions/" + sessionId + "/messages", headers("req-read")))
        .path("data");
    assertThat(stored.get(1).path("interrupted").asBoolean()).isTrue();
    assertThat(row.get("tokens_out")).isEqualTo(Tokens.count(stored.get(1).path("content").asText()));
    assertThat((Integer) row.get("tokens_out")).isGreaterThanOrEqualTo(5 * 2);
    assertThat(row.get("tokens_in")).isEqualTo(Tokens.countMessages(List.of(ChatMessage.user("long story"))));
    assertThat(row.get("cost_micro_usd")).isEqualTo(cost(row));
    assertThat(node.adminHttp().get("/metrics").body()).contains("atrium_persistent_requests_total{tenant=\"meter\"}");
  }

  @Test
  void embeddingsAndASearchRewriteAreMetered() {
    var embedded = http.postJson("/v1/embeddings", "{\"model\": \"local\", \"input\": [\"one two\", \"three\"]}",
        headers("req-usage-embed"));
    assertThat(embedded.statusCode()).as(embedded.body()).isEqualTo(200);
    Map<String, Object> row = row("req-usage-embed");
    assertThat(row).containsEntry("operation", "embedding").containsEntry("provider", "local")
        .containsEntry("upstream_model", "all-minilm-l6-v2").containsEntry("status", "ok")
        .containsEntry("tokens_out", 0).containsEntry("cost_micro_usd", 0L).containsEntry("first_token_ms", null);
    assertThat(row.get("tokens_in")).isEqualTo(TestHttp.json(embedded).path("usage").path("prompt_tokens").asInt())
        .isNotEqualTo(0);

    // The tenant has a model, so the query is rewritten by it first (no documents: nothing to answer from).
    var searched = http.postJson("/v1/search", "{\"query\": \"where is the ferry?\"}", headers("req-usage-search"));
    assertThat(searched.statusCode()).as(searched.body()).isEqualTo(200);
    Map<String, Object> rewrite = row(db, "request_id = ? and operation = 'search_rewrite'", "req-usage-search");
    assertThat(rewrite).containsEntry("operation", "search_rewrite").containsEntry("route_class", "search")
        .containsEntry("model", "mock").containsEntry("status", "ok");
    assertThat(rewrite.get("cost_micro_usd")).isEqualTo(cost(rewrite));
    // Then the rewritten query is embedded (EmbeddingUsageTest): two calls, nothing else.
    await(Duration.ofSeconds(10), () -> assertThat(rows("request_id = ?", "req-usage-search"))
        .extracting(r -> r.get("operation")).containsExactlyInAnyOrder("search_rewrite", "query_embedding"));
  }

  @Test
  void aBatchRunsPromptsAreMeteredWithTheRunIdAndStep() {
    var r = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [\"one\", \"two\", \"three\"]}}",
        headers("req-usage-run"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    String runId = TestHttp.json(r).path("run_id").asText();
    await(Duration.ofSeconds(30), () -> assertThat(rows("run_id = ?", runId)).hasSize(3));
    List<Map<String, Object>> rows = rows("run_id = ?", runId);
    assertThat(rows).extracting(row -> row.get("step")).containsExactlyInAnyOrder("answer/0", "answer/1", "answer/2");
    assertThat(rows).allSatisfy(row -> {
      assertThat(row).containsEntry("operation", "run_prompt").containsEntry("route_class", "runs")
          .containsEntry("request_id", null).containsEntry("key_id", "k_meter").containsEntry("account_id", "acct_1")
          .containsEntry("tier", "PAID").containsEntry("tokens_out", 8).containsEntry("status", "ok");
      assertThat(row.get("cost_micro_usd")).isEqualTo(cost(row));
    });
  }

  @Test
  void whileTheTableRefusesInsertsNoRowIsLost() {
    double failuresBefore = failures();
    execute("REVOKE INSERT ON usage_events FROM atrium_system");
    List<String> ids = new ArrayList<>();
    try {
      for (int i = 0; i < 6; i++) {
        String id = "req-usage-down-" + i;
        completion(id, "mock", i % 2 == 0);
        ids.add(id);
      }
      // The writer has tried, failed, and keeps the rows; nothing reached the table.
      await(Duration.ofSeconds(10), () -> assertThat(failures()).isGreaterThan(failuresBefore + 1));
      assertThat(rows("request_id like 'req-usage-down-%'")).isEmpty();
    } finally {
      execute("GRANT INSERT ON usage_events TO atrium_system");
    }
    await(Duration.ofSeconds(10), () -> assertThat(rows("request_id like 'req-usage-down-%'"))
        .extracting(row -> row.get("request_id")).containsExactlyInAnyOrderElementsOf(ids));
    assertThat(node.metrics.registry().get("atrium.usage.dropped").counter().count()).isZero();
  }

  static double failures() {
    return node.metrics.registry().get("atrium.usage.write.failures").counter().count();
  }
}
