package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Budgets on a real node, PostgreSQL and mock upstream: a key's cap stops its calls at the
 * hard-limit ratio (429 budget_exceeded in each door's shape, with Retry-After), concurrent
 * calls never overshoot, the upstream is sent the allowance the call held, the admin view
 * and the gauge show what is settled and a reset frees the scope; the installation's cap
 * spans tenants and survives a restart whose budget writes were lost; a spend cap over an
 * unpriced model stops the node.
 */
class BudgetTest {
  static final String CAP_KEY = "budget-cap-key";
  static final String OTHER_KEY = "budget-other-key";
  static final String BURST_KEY = "budget-burst-key";
  static final String INST_A = "budget-inst-a";
  static final String BYO_KEY = "budget-byo-key";
  static final String INST_B = "budget-inst-b";
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  static String tenant(String id, String keys, String budgets, String upstream) {
    return """
        {"id": "%s", "display_name": "%s", "api_keys": [%s], %s
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 10000, "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(id, id, keys, budgets, upstream);
  }

  static String key(String id, String secret, String account) {
    return """
        {"id": "%s", "sha256": "%s", "tier": "PAID", "account": "%s"}""".formatted(id, ApiKeys.sha256(secret), account);
  }

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    Files.writeString(tenantsDir.resolve("capped.json"), tenant("capped",
        key("k_cap", CAP_KEY, "acct_1") + "," + key("k_other", OTHER_KEY, "acct_1"),
        """
        "budgets": {"default_max_tokens": 4,
                    "tenant": {"daily_tokens": 1000, "monthly_spend_usd": 100},
                    "keys": {"k_cap": {"daily_tokens": 100, "hard_limit_ratio": 0.5}}},""", mock.baseUrl()));
    // 400 tokens a day at 0.9: 360, twenty calls of 18 (8 prompt tokens + 10 allowed).
    Files.writeString(tenantsDir.resolve("burst.json"), tenant("burst", key("k_burst", BURST_KEY, "acct_b"),
        """
        "budgets": {"tenant": {"daily_tokens": 400}},""", mock.baseUrl()));
    // A spend cap of one micro-dollar: no call the tenant pays for fits, a caller's own key's does.
    Files.writeString(tenantsDir.resolve("byospend.json"), tenant("byospend", key("k_byo", BYO_KEY, "acct_y"),
        """
        "features": {"byok": true}, "byok": {"providers": {"openai": "up"}},
        "budgets": {"default_max_tokens": 4, "tenant": {"daily_spend_usd": 0.000001, "daily_tokens": 1000}},""",
        mock.baseUrl()));
    db = TestDatabase.fresh("budgets");
    node = TestNode.start("budgets", db, TenantRegistry.load(tenantsDir, false), Map.of(
        "atrium.usage.prices.mock-model.input", 1.0,
        "atrium.usage.prices.mock-model.output", 2.0,
        "atrium.usage.flush-interval", "50ms"));
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

  static HttpResponse<String> chat(TestHttp via, String key, String extra) {
    return via.postJson("/v1/chat/completions", """
        {"model": "mock", "messages": [{"role": "user", "content": "hi"}]%s}""".formatted(extra),
        "Authorization", "Bearer " + key);
  }

  static String[] admin(TestNode on) {
    return new String[] {"Authorization", "Bearer " + on.adminToken};
  }

  static long tokensToday(DatabaseSettings in, String where) {
    return tokensToday(in, where, "coalesce(sum(tokens_in + tokens_out), 0)");
  }

  static long tokensToday(DatabaseSettings in, String where, String what) {
    try (Connection c = DriverManager.getConnection(in.url(), in.systemUser(), in.systemPassword());
        ResultSet rs = c.createStatement().executeQuery("select " + what + " from"
            + " usage_events where created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc' and "
            + where)) {
      rs.next();
      return rs.getLong(1);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aKeysCapStopsItsCallsAtTheRatioAndOnlyThatKeys() throws Exception {
    int ok = 0;
    HttpResponse<String> refused = null;
    for (int i = 0; i < 30 && refused == null; i++) {
      var r = chat(http, CAP_KEY, "");
      if (r.statusCode() == 429) {
        refused = r;
      } else {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        ok++;
      }
    }
    assertThat(refused).as("a 429 within 30 calls").isNotNull();
    assertThat(ok).isPositive();
    JsonNode error = TestHttp.json(refused).path("error");
    assertThat(error.path("code").asText()).isEqualTo("budget_exceeded");
    assertThat(error.path("type").asText()).isNotEmpty();
    assertThat(error.path("message").asText()).contains("daily token budget of key:k_cap").contains("resets at");
    long retryAfter = Long.parseLong(refused.headers().firstValue("retry-after").orElseThrow());
    assertThat(retryAfter).isBetween(1L, 86_400L);
    // Settled stays within 50 (100 x 0.5); a call holding 12 more would pass it.
    int admitted = ok;
    Eventually.await(Duration.ofSeconds(10), () -> assertThat(tokensToday(db, "key_id = 'k_cap'"))
        .isEqualTo(admitted * 5L));
    long settled = tokensToday(db, "key_id = 'k_cap'");
    assertThat(settled).isLessThanOrEqualTo(50).isGreaterThan(50 - 12);
    // The refused call never reached the upstream and left no usage row.
    assertThat(mock.stats().requests()).isEqualTo(ok);

    // The same account's other key is not capped by k_cap's budget.
    assertThat(chat(http, OTHER_KEY, "").statusCode()).isEqualTo(200);

    // The native door: a problem+json 429 naming scope, period and reset, before any SSE.
    var created = http.postJson("/v1/chat/sessions", "{}", "Authorization", "Bearer " + CAP_KEY);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String session = TestHttp.json(created).path("id").asText();
    var turn = http.postJson("/v1/chat/sessions/" + session + "/messages", "{\"content\": \"hi\"}",
        "Authorization", "Bearer " + CAP_KEY);
    assertThat(turn.statusCode()).as(turn.body()).isEqualTo(429);
    assertThat(turn.headers().firstValue("content-type").orElseThrow()).contains("problem+json");
    JsonNode problem = TestHttp.json(turn);
    assertThat(problem.path("code").asText()).isEqualTo("budget_exceeded");
    assertThat(problem.path("scope").asText()).isEqualTo("key:k_cap");
    assertThat(problem.path("period").asText()).isEqualTo("day");
    assertThat(problem.path("resets_at").asText()).endsWith("T00:00:00Z");
    assertThat(problem.path("request_id").asText()).isNotEmpty();
    // The session is free again (the refused turn ended at once): the next turn is refused by the budget, not a 409.
    var again = http.postJson("/v1/chat/sessions/" + session + "/messages", "{\"content\": \"hi\"}",
        "Authorization", "Bearer " + CAP_KEY);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(429);

    // The admin view shows the key's day; the gauge the tenant's ratio; a reset frees the key.
    var view = node.adminHttp().get("/admin/tenants/capped/budgets", admin(node));
    assertThat(view.statusCode()).as(view.body()).isEqualTo(200);
    JsonNode keyDay = null;
    for (JsonNode s : TestHttp.json(view).path("scopes")) {
      if (s.path("scope").asText().equals("key:k_cap") && s.path("period").asText().equals("day")) {
        keyDay = s;
      }
    }
    assertThat(keyDay).as(view.body()).isNotNull();
    assertThat(keyDay.path("tokens").path("cap").asLong()).isEqualTo(100);
    assertThat(keyDay.path("hard_limit_ratio").asDouble()).isEqualTo(0.5);
    assertThat(keyDay.path("tokens").path("settled").asLong()).isEqualTo(settled);
    assertThat(keyDay.path("resets_at").asText()).endsWith("T00:00:00Z");
    Eventually.await(Duration.ofSeconds(10), () -> assertThat(node.adminHttp().get("/metrics", admin(node)).body())
        .containsPattern("atrium_budget_used_ratio\\{[^}]*measure=\"tokens\",period=\"day\",tenant=\"capped\"} 0\\.[0-9]*[1-9]"));
    assertThat(node.adminHttp().get("/metrics", admin(node)).body()).doesNotContain("k_cap");

    var badReset = node.adminHttp().postJson("/admin/tenants/capped/budgets/reset",
        "{\"scope\": \"key:k cap\", \"period\": \"day\"}", admin(node));
    assertThat(badReset.statusCode()).isEqualTo(400);
    var reset = node.adminHttp().postJson("/admin/tenants/capped/budgets/reset",
        "{\"scope\": \"key:k_cap\", \"period\": \"day\"}", admin(node));
    assertThat(reset.statusCode()).as(reset.body()).isEqualTo(204);
    assertThat(chat(http, CAP_KEY, "").statusCode()).isEqualTo(200);
    assertThat(node.adminHttp().get("/admin/tenants/nobody/budgets", admin(node)).statusCode()).isEqualTo(404);
  }

  @Test
  void theUpstreamIsSentTheAllowanceTheCallHeld() {
    assertThat(chat(http, OTHER_KEY, "").statusCode()).isEqualTo(200);
    JsonNode sent = parse(mock.stats().lastRequestBody());
    assertThat(sent.path("max_tokens").asInt()).isEqualTo(4);

    assertThat(chat(http, OTHER_KEY, ", \"max_completion_tokens\": 3, \"stream\": true").statusCode()).isEqualTo(200);
    sent = parse(mock.stats().lastRequestBody());
    assertThat(sent.path("max_completion_tokens").asInt()).isEqualTo(3);
    assertThat(sent.has("max_tokens")).isFalse();

    // More than the tenant's day has room for (1000 x 0.9): refused before the upstream.
    long before = mock.stats().requests();
    var greedy = chat(http, OTHER_KEY, ", \"max_tokens\": 5000");
    assertThat(greedy.statusCode()).as(greedy.body()).isEqualTo(429);
    assertThat(greedy.body()).contains("daily token budget of tenant");
    assertThat(mock.stats().requests()).isEqualTo(before);

    var bad = chat(http, OTHER_KEY, ", \"max_tokens\": \"lots\"");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(bad).path("error").path("param").asText()).isEqualTo("max_tokens");
  }

  @Test
  void aCallersOwnKeyCountsTowardTokensButNotSpend() {
    var paid = chat(http, BYO_KEY, "");
    assertThat(paid.statusCode()).as(paid.body()).isEqualTo(429);
    assertThat(paid.body()).contains("daily spend budget of tenant");
    String providerKey = "sk-" + "b".repeat(40);
    var own = http.postJson("/v1/chat/completions", """
        {"model": "mock", "messages": [{"role": "user", "content": "hi"}]}""",
        "Authorization", "Bearer " + BYO_KEY, "x-openai-key", providerKey);
    assertThat(own.statusCode()).as(own.body()).isEqualTo(200);
    assertThat(mock.authorizations()).containsExactly("Bearer " + providerKey);
    Eventually.await(Duration.ofSeconds(10), () -> {
      assertThat(tokensToday(db, "tenant_id = 'byospend' and byo")).isPositive();
      var view = node.adminHttp().get("/admin/tenants/byospend/budgets", admin(node));
      JsonNode day = TestHttp.json(view).path("scopes").get(0);
      assertThat(day.path("scope").asText()).isEqualTo("tenant");
      assertThat(day.path("tokens").path("settled").asLong()).isEqualTo(tokensToday(db, "tenant_id = 'byospend'"));
      assertThat(day.path("spend").path("settled_usd").asDouble()).isZero();
    });
  }

  @Test
  void concurrentCallsNeverOvershootTheCap() throws Exception {
    // Slow answers: every call holds its reservation before any settles.
    mock.configure(MockLlm.Behaviour.defaults().withFirstTokenDelay(Duration.ofSeconds(2)));
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      calls.add(http.client().sendAsync(http.request("/v1/chat/completions")
          .header("Authorization", "Bearer " + BURST_KEY).header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\": \"mock\", \"max_tokens\": 10, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"))
          .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get();
    long ok = calls.stream().filter(c -> c.join().statusCode() == 200).count();
    long refused = calls.stream().filter(c -> c.join().statusCode() == 429).count();
    assertThat(ok).as("what 400 x 0.9 admits at 18 tokens a call").isEqualTo(20);
    assertThat(refused).isEqualTo(20);
    // Every admitted call is metered (1 prompt word + its answer, at most the 10 allowed) and the sum stays under 360.
    Eventually.await(Duration.ofSeconds(10), () -> assertThat(tokensToday(db, "tenant_id = 'burst'", "count(*)"))
        .isEqualTo(ok));
    assertThat(tokensToday(db, "tenant_id = 'burst' and tokens_out > 10")).isZero();
    assertThat(tokensToday(db, "tenant_id = 'burst'")).isLessThanOrEqualTo(360);
  }

  @Test
  void theInstallationsCapSpansTenantsAndOutlivesARestartThatLostItsWrites(@TempDir Path dir) throws Exception {
    MockLlm upstream = MockLlm.startLocal();
    Files.writeString(dir.resolve("insta.json"), tenant("insta", key("k_a", INST_A, "a"), "", upstream.baseUrl()));
    Files.writeString(dir.resolve("instb.json"), tenant("instb", key("k_b", INST_B, "b"), "", upstream.baseUrl()));
    DatabaseSettings shared = TestDatabase.fresh("budget_installation");
    Map<String, Object> config = Map.of("atrium.budgets.installation.daily-tokens", 100,
        "atrium.usage.prices.mock-model.input", 1.0, "atrium.usage.prices.mock-model.output", 2.0,
        "atrium.usage.flush-interval", "50ms");
    TenantRegistry registry = TenantRegistry.load(dir, false);
    int ok = 0;
    try (TestNode first = TestNode.start("installation", shared, registry, config)) {
      TestHttp via = first.publicHttp();
      HttpResponse<String> last = null;
      // Each call holds 8 + 5 (max_tokens) and uses 1 + 5: 90 admits no more than fourteen.
      for (int i = 0; i < 30; i++) {
        last = chat(via, i % 2 == 0 ? INST_A : INST_B, ", \"max_tokens\": 5");
        if (last.statusCode() != 200) {
          break;
        }
        ok++;
      }
      assertThat(last.statusCode()).as(last.body()).isEqualTo(429);
      assertThat(last.body()).contains("budget of installation");
      int admitted = ok;
      Eventually.await(Duration.ofSeconds(10), () -> assertThat(tokensToday(shared, "true")).isEqualTo(admitted * 6L));
    }
    // The budget's own writes are lost: what usage_events says is what it starts from.
    try (Connection c = DriverManager.getConnection(shared.url(), shared.systemUser(), shared.systemPassword())) {
      c.createStatement().executeUpdate("delete from durable_state where persistence_id like 'Budget|%'");
    }
    try (TestNode second = TestNode.start("installation-2", shared, registry, config)) {
      TestHttp via = second.publicHttp();
      assertThat(chat(via, INST_B, ", \"max_tokens\": 5").statusCode()).isEqualTo(429);
      var view = second.adminHttp().get("/admin/budgets/installation", admin(second));
      assertThat(view.statusCode()).as(view.body()).isEqualTo(200);
      assertThat(TestHttp.json(view).path("scopes").get(0).path("tokens").path("settled").asLong()).isEqualTo(ok * 6L);
      assertThat(second.adminHttp().postJson("/admin/budgets/installation/reset",
          "{\"scope\": \"installation\", \"period\": \"day\"}", admin(second)).statusCode()).isEqualTo(204);
      assertThat(chat(via, INST_A, ", \"max_tokens\": 5").statusCode()).isEqualTo(200);
    } finally {
      upstream.close();
    }
  }

  @Test
  void aReservationWhoseCallNeverSettlesStopsHoldingAfterItsExpiry(@TempDir Path dir) throws Exception {
    MockLlm stalled = MockLlm.startLocal();
    stalled.configure(MockLlm.Behaviour.defaults().withFirstTokenDelay(Duration.ofSeconds(8)));
    // Room for one call at a time: each holds 8 prompt tokens + 4 allowed.
    Files.writeString(dir.resolve("expiring.json"), """
        {"id": "expiring", "display_name": "Expiring",
         "api_keys": [%s],
         "budgets": {"default_max_tokens": 4, "hard_limit_ratio": 1.0, "tenant": {"daily_tokens": 13}},
         "models": {"default_model": "stalled",
                    "models": {"stalled": {"provider": "stalled", "upstream_model": "mock-model"},
                               "quick": {"provider": "quick", "upstream_model": "mock-model"}},
                    "providers": {"stalled": {"type": "openai", "base_url": "%s", "timeout_ms": 60000, "max_retries": 0},
                                  "quick": {"type": "openai", "base_url": "%s", "timeout_ms": 10000, "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(key("k_e", "budget-expiring-key", "e"), stalled.baseUrl(), mock.baseUrl()));
    try (TestNode expiring = TestNode.start("budget-expiry", TestDatabase.fresh("budget_expiry"),
        TenantRegistry.load(dir, false), Map.of("atrium.budgets.reservation-expiry", "2s"))) {
      TestHttp via = expiring.publicHttp();
      String[] auth = {"Authorization", "Bearer budget-expiring-key"};
      // The first call holds the budget and its upstream does not answer.
      CompletableFuture<HttpResponse<String>> held = via.client().sendAsync(via.request("/v1/chat/completions")
              .header("Authorization", "Bearer budget-expiring-key").header("content-type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(
                  "{\"model\": \"stalled\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"))
              .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
      String quick = "{\"model\": \"quick\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
      Eventually.await(Duration.ofSeconds(10), () -> assertThat(stalled.stats().requests()).isEqualTo(1));
      assertThat(via.postJson("/v1/chat/completions", quick, auth).statusCode()).isEqualTo(429);
      // Once its reservation expires (2 s, swept once a second) the budget has room again, the call still unanswered.
      Eventually.await(Duration.ofSeconds(10), () ->
          assertThat(via.postJson("/v1/chat/completions", quick, auth).statusCode()).isEqualTo(200));
      assertThat(held).isNotDone();
      held.cancel(true);
    } finally {
      stalled.close();
    }
  }

  @Test
  void aSpendCapOverAModelWithoutAPriceStopsTheNode(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("spender.json"), tenant("spender", key("k_s", "budget-spender-key", "s"),
        """
        "budgets": {"per_account": {"daily_spend_usd": 5}},""", mock.baseUrl()));
    assertThatThrownBy(() -> TestNode.start("unpriced", TestDatabase.fresh("budget_unpriced"),
            TenantRegistry.load(dir, false), Map.of()))
        .rootCause()
        .hasMessageContaining("tenant 'spender' caps spend")
        .hasMessageContaining("model 'mock' (upstream 'mock-model') has no price");
  }

  static JsonNode parse(String json) {
    try {
      return dev.atrium.core.Json.MAPPER.readTree(json);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
