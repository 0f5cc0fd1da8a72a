package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bring-your-own provider keys on a real node, PostgreSQL and mock upstream: a canary key
 * made at test time reaches the mock's Authorization header and nothing else (no log line,
 * journal, snapshot, durable state, table or metric); without a key, or when the caller's
 * key meets a 5xx, the call falls back to the tenant's provider and says so; a 401 for the
 * caller's key is the caller's answer; malformed keys, unmapped families and tenants
 * without the feature are 400s that never quote the key.
 */
class ByokTest {
  static final String KEY = "byok-key-" + UUID.randomUUID();
  static final String PLAIN_KEY = "plain-key-" + UUID.randomUUID();
  static final String SLOW_KEY = "slow-key-" + UUID.randomUUID();
  static final double INPUT = 2.5;
  static final double OUTPUT = 10;
  @TempDir static Path tenantsDir;
  static CapturedLogs logs;
  static MockLlm mock;
  /** An upstream that answers too late: a caller's key that times out on it. */
  static MockLlm slow;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    // From before the node starts: every line it writes.
    logs = CapturedLogs.capture();
    mock = MockLlm.startLocal();
    slow = MockLlm.startLocal();
    slow.configure(MockLlm.Behaviour.defaults().withFirstTokenDelay(Duration.ofSeconds(5)));
    // The tenant's provider has no key of its own: its calls reach the mock without Authorization.
    Files.writeString(tenantsDir.resolve("byo.json"), """
        {"id": "byo", "display_name": "BYO",
         "api_keys": [{"id": "k_byo", "sha256": "%s", "tier": "PAID", "account": "acct_byo"}],
         "features": {"byok": true},
         "byok": {"providers": {"openai": "up"}},
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"},
                               "local": {"provider": "local"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0},
                                  "local": {"type": "local"}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY), mock.baseUrl()));
    Files.writeString(tenantsDir.resolve("plain.json"), """
        {"id": "plain", "display_name": "Plain",
         "api_keys": [{"id": "k_plain", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(PLAIN_KEY), mock.baseUrl()));
    // Keys go to the slow provider, which times out (for the caller's key and the tenant's
    // alike); the model falls back to the mock.
    Files.writeString(tenantsDir.resolve("slowbyo.json"), """
        {"id": "slowbyo", "display_name": "Slow BYO",
         "api_keys": [{"id": "k_slow", "sha256": "%s", "tier": "PAID"}],
         "features": {"byok": true},
         "byok": {"providers": {"openai": "slow"}},
         "models": {"default_model": "m",
                    "models": {"m": {"provider": "slow", "upstream_model": "mock-model", "fallbacks": ["backup"]},
                               "backup": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"slow": {"type": "openai", "base_url": "%s", "timeout_ms": 500, "max_retries": 0},
                                  "up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(SLOW_KEY), slow.baseUrl(), mock.baseUrl()));
    db = TestDatabase.fresh("byok");
    node = TestNode.start("byok", db, TenantRegistry.load(tenantsDir, false), Map.of(
        "atrium.usage.prices.mock-model.input", INPUT,
        "atrium.usage.prices.mock-model.output", OUTPUT,
        "atrium.usage.flush-interval", "50ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
    slow.close();
    logs.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  /** An OpenAI-shaped key no one has seen before. */
  static String canary() {
    SecureRandom random = new SecureRandom();
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder key = new StringBuilder("sk-proj-");
    for (int i = 0; i < 48; i++) {
      key.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return key.toString();
  }

  static String[] headers(String key, String requestId, String... more) {
    List<String> all = new ArrayList<>(List.of("Authorization", "Bearer " + key, "x-request-id", requestId));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  static HttpResponse<String> completion(String key, String requestId, String model, boolean stream, String content,
      String... more) {
    return http.postJson("/v1/chat/completions", """
        {"model": "%s", "stream": %s, "messages": [{"role": "user", "content": "%s"}]}"""
        .formatted(model, stream, content), headers(key, requestId, more));
  }

  static String createSession() {
    var created = http.postJson("/v1/chat/sessions", "{}", "Authorization", "Bearer " + KEY);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return TestHttp.json(created).path("id").asText();
  }

  static HttpResponse<String> turn(String sessionId, String requestId, boolean stream, String content,
      String... more) {
    return http.postJson("/v1/chat/sessions/" + sessionId + "/messages",
        "{\"content\": \"%s\", \"stream\": %s}".formatted(content, stream), headers(KEY, requestId, more));
  }

  static List<Map<String, Object>> usage(String requestId) {
    List<Map<String, Object>> rows = new ArrayList<>();
    await(Duration.ofSeconds(10), () -> {
      rows.clear();
      rows.addAll(UsageTest.rowsIn(db, "request_id = ?", requestId));
      assertThat(rows).hasSize(1);
    });
    return rows;
  }

  @Test
  void aCanaryKeyReachesTheUpstreamAndNothingElse() throws Exception {
    String canary = canary();
    String marker = "canary-turn-" + UUID.randomUUID();
    List<String> bodies = new ArrayList<>();
    List<String> requestIds = new ArrayList<>();

    // The OpenAI door, streamed and whole, in the family's header and the generic one.
    for (boolean stream : new boolean[] {true, false}) {
      for (String header : new String[] {"x-openai-key", "x-gen-ai-key"}) {
        String id = "req-" + UUID.randomUUID();
        var r = completion(KEY, id, "mock", stream, marker, header, canary);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-atrium-fallback")).isEmpty();
        bodies.add(r.body() + r.headers().map());
        requestIds.add(id);
      }
    }
    // A session's turns, streamed and whole: the session is stored, the key is not.
    String sessionId = createSession();
    for (boolean stream : new boolean[] {true, false}) {
      String id = "req-" + UUID.randomUUID();
      var r = turn(sessionId, id, stream, marker, "x-openai-key", canary);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).contains("t0 ").contains("t7 ");
      assertThat(r.headers().firstValue("x-atrium-fallback")).isEmpty();
      bodies.add(r.body() + r.headers().map());
      requestIds.add(id);
    }

    // Every call reached the upstream on the caller's key, in place of the tenant's (none).
    assertThat(mock.authorizations()).hasSize(6).allMatch(a -> a.equals("Bearer " + canary));
    // Metered as paid by the caller's key: byo, the caller's key id, the cost.
    for (String id : requestIds) {
      Map<String, Object> row = usage(id).get(0);
      assertThat(row.get("byo")).isEqualTo(true);
      assertThat(row.get("key_id")).isEqualTo("k_byo");
      assertThat(((Number) row.get("cost_micro_usd")).longValue()).isEqualTo(Math.round(
          ((Number) row.get("tokens_in")).intValue() * INPUT + ((Number) row.get("tokens_out")).intValue() * OUTPUT));
    }
    // The scan finds what is stored: the turns' text in the journal's bytes, a request id in a text column ...
    assertThat(tablesContaining(marker)).contains("public.event_journal");
    assertThat(tablesContaining(requestIds.get(0))).contains("public.usage_events");
    // ... and the key is in none of them: journal, snapshots, durable state, projections, usage.
    assertThat(tablesContaining(canary)).isEmpty();
    assertThat(node.adminHttp().get("/metrics").body())
        .contains("atrium_byo_requests_total").doesNotContain(canary);
    assertThat(bodies).noneMatch(b -> b.contains(canary));
    assertThat(logs.lines()).isNotEmpty();
    assertThat(logs.linesContaining(canary)).isEmpty();
    assertThat(logs.linesContaining(canary.substring(8))).isEmpty();
  }

  @Test
  void withoutAKeyTheTenantsProviderAnswersAndTheResponseSaysSo() {
    String id = "req-" + UUID.randomUUID();
    var r = completion(KEY, id, "mock", false, "no key of mine");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-atrium-fallback")).hasValue("tenant-provider");
    assertThat(mock.authorizations()).containsExactly("");
    assertThat(usage(id).get(0).get("byo")).isEqualTo(false);

    var native_ = turn(createSession(), "req-" + UUID.randomUUID(), true, "no key");
    assertThat(native_.statusCode()).isEqualTo(200);
    assertThat(native_.headers().firstValue("x-atrium-fallback")).hasValue("tenant-provider");
    // A tenant without the feature has nothing to fall back from: no header.
    var plain = completion(PLAIN_KEY, "req-" + UUID.randomUUID(), "mock", false, "plain");
    assertThat(plain.statusCode()).isEqualTo(200);
    assertThat(plain.headers().firstValue("x-atrium-fallback")).isEmpty();
  }

  @Test
  void aServerErrorOnTheCallersKeyFallsBackToTheTenantsProvider() {
    String canary = canary();
    for (boolean stream : new boolean[] {true, false}) {
      mock.reset();
      mock.configure(MockLlm.Behaviour.defaults().failing(503, 1));
      String id = "req-" + UUID.randomUUID();
      var r = completion(KEY, id, "mock", stream, "fall back", "x-openai-key", canary);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-atrium-fallback")).hasValue("tenant-provider");
      assertThat(r.body()).contains("t0");
      // The caller's key first, then the tenant's route (no key of its own).
      assertThat(mock.authorizations()).containsExactly("Bearer " + canary, "");
      assertThat(usage(id).get(0)).containsEntry("byo", false).containsEntry("status", "ok");
    }
    // A session's streamed turn waits for the provider on a caller's key, so it can say so too.
    mock.reset();
    mock.configure(MockLlm.Behaviour.defaults().failing(502, 1));
    var r = turn(createSession(), "req-" + UUID.randomUUID(), true, "fall back", "x-openai-key", canary);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-atrium-fallback")).hasValue("tenant-provider");
    assertThat(r.body()).contains("event: done");
    assertThat(mock.authorizations()).containsExactly("Bearer " + canary, "");
  }

  @Test
  void aTimeoutOnTheCallersKeyFallsBackToTheTenantsRoute() {
    String canary = canary();
    for (boolean stream : new boolean[] {true, false}) {
      slow.resetStats();
      mock.reset();
      String id = "req-" + UUID.randomUUID();
      var r = completion(SLOW_KEY, id, "m", stream, "too slow", "x-openai-key", canary);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-atrium-fallback")).hasValue("tenant-provider");
      assertThat(r.body()).contains("t0");
      // The caller's key on the slow provider, then the tenant's route: the slow provider
      // on its own (no) key, then the fallback model on the mock.
      assertThat(slow.authorizations()).containsExactly("Bearer " + canary, "");
      assertThat(mock.authorizations()).containsExactly("");
      assertThat(usage(id).get(0)).containsEntry("byo", false).containsEntry("provider", "openai:up")
          .containsEntry("model", "backup");
    }
  }

  @Test
  void aRefusedCallerKeyIsTheCallersAnswerWithoutFallback() {
    String canary = canary();
    mock.configure(MockLlm.Behaviour.defaults().failing(401, 1));
    var r = completion(KEY, "req-" + UUID.randomUUID(), "mock", true, "bad key", "x-openai-key", canary);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
    JsonNode error = TestHttp.json(r).path("error");
    assertThat(error.path("code").asText()).isEqualTo("provider_key_rejected");
    assertThat(error.path("message").asText()).contains("x-openai-key");
    assertThat(r.body()).doesNotContain(canary);
    assertThat(mock.authorizations()).containsExactly("Bearer " + canary);

    mock.reset();
    mock.configure(MockLlm.Behaviour.defaults().failing(403, 1));
    var nativeTurn = turn(createSession(), "req-" + UUID.randomUUID(), true, "bad key", "x-openai-key", canary);
    assertThat(nativeTurn.statusCode()).as(nativeTurn.body()).isEqualTo(403);
    assertThat(nativeTurn.headers().firstValue("content-type")).hasValue("application/problem+json");
    assertThat(TestHttp.json(nativeTurn).path("code").asText()).isEqualTo("provider_key_rejected");
    assertThat(mock.authorizations()).containsExactly("Bearer " + canary);
  }

  @Test
  void badKeysAndTenantsWithoutTheFeatureAre400sThatNeverQuoteTheKey() throws Exception {
    String canary = canary();
    String malformed = canary.substring(0, 12) + " !" + canary.substring(12);
    String anthropic = "sk-ant-api03-" + canary.substring(8);
    record Case(String key, String[] headers, String code) {}
    List<Case> cases = List.of(
        new Case(KEY, new String[] {"x-openai-key", malformed}, "invalid_provider_key"),
        new Case(KEY, new String[] {"x-gen-ai-key", malformed}, "invalid_provider_key"),
        // An OpenAI key in the Anthropic header: the wrong family.
        new Case(KEY, new String[] {"x-anthropic-key", canary}, "invalid_provider_key"),
        new Case(KEY, new String[] {"x-openai-key", canary, "x-gen-ai-key", canary}, "invalid_provider_key"),
        // An Anthropic key: the tenant sends no Anthropic keys anywhere.
        new Case(KEY, new String[] {"x-gen-ai-key", anthropic}, "byok_no_provider"),
        new Case(PLAIN_KEY, new String[] {"x-openai-key", canary}, "byok_not_enabled"));
    for (Case c : cases) {
      var openAi = completion(c.key(), "req-" + UUID.randomUUID(), "mock", true, "bad", c.headers());
      assertThat(openAi.statusCode()).as(c.code() + " " + openAi.body()).isEqualTo(400);
      assertThat(TestHttp.json(openAi).path("error").path("code").asText()).isEqualTo(c.code());
      assertThat(openAi.body()).doesNotContain(canary).doesNotContain(canary.substring(8));
    }
    // A model whose route never reaches the provider the tenant sends OpenAI keys to.
    var local = completion(KEY, "req-" + UUID.randomUUID(), "local", false, "bad", "x-openai-key", canary);
    assertThat(local.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(local).path("error").path("code").asText()).isEqualTo("byok_no_provider");
    // A session whose model never reaches that provider: refused once the session names its
    // model, and the turn it started is ended, so the next turn (without a key) runs at once.
    var created = http.postJson("/v1/chat/sessions", "{\"model\": \"local\"}", "Authorization", "Bearer " + KEY);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String localSession = TestHttp.json(created).path("id").asText();
    var refused = turn(localSession, "req-" + UUID.randomUUID(), true, "bad", "x-openai-key", canary);
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
    assertThat(TestHttp.json(refused).path("code").asText()).isEqualTo("byok_no_provider");
    var next = turn(localSession, "req-" + UUID.randomUUID(), false, "again");
    assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    // The native door: problem+json with the request id.
    var nativeTurn = turn(createSession(), "req-bad-key", true, "bad", "x-openai-key", malformed);
    assertThat(nativeTurn.statusCode()).isEqualTo(400);
    assertThat(nativeTurn.headers().firstValue("content-type")).hasValue("application/problem+json");
    JsonNode problem = TestHttp.json(nativeTurn);
    assertThat(problem.path("code").asText()).isEqualTo("invalid_provider_key");
    assertThat(problem.toString()).contains("req-bad-key").doesNotContain(canary.substring(8));
    // Nothing reached the upstream, and no trace of the keys anywhere.
    assertThat(mock.authorizations()).isEmpty();
    assertThat(logs.linesContaining(canary.substring(8))).isEmpty();
    assertThat(tablesContaining(canary.substring(8))).isEmpty();
  }

  /**
   * Every table of the database (as its owner) with a row holding {@code text}: in any
   * text-like column as text, in bytea columns (journal payloads, snapshots, durable state)
   * as its UTF-8 bytes.
   */
  static List<String> tablesContaining(String text) {
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      List<String[]> columns = new ArrayList<>();
      try (ResultSet rs = c.createStatement().executeQuery("""
          select c.table_schema, c.table_name, c.column_name, c.data_type
          from information_schema.columns c join information_schema.tables t
            on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
          where c.table_schema not in ('pg_catalog', 'information_schema')""")) {
        while (rs.next()) {
          columns.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)});
        }
      }
      assertThat(columns).extracting(col -> col[1]).contains("event_journal", "snapshot", "durable_state",
          "usage_events");
      List<String> found = new ArrayList<>();
      for (String[] col : columns) {
        String table = "\"" + col[0] + "\".\"" + col[1] + "\"";
        String column = "\"" + col[2] + "\"";
        String where = col[3].equals("bytea") ? "position(convert_to(?, 'UTF8') in " + column + ") > 0"
            : "strpos(" + column + "::text, ?) > 0";
        try (var statement = c.prepareStatement("select 1 from " + table + " where " + where + " limit 1")) {
          statement.setString(1, text);
          try (ResultSet rs = statement.executeQuery()) {
            if (rs.next()) {
              found.add(col[0] + "." + col[1]);
            }
          }
        }
      }
      return found;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
