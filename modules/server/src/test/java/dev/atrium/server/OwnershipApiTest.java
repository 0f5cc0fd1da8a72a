package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who owns what, on a real node with API keys: two keys of one tenant each see only their
 * own sessions and runs (lists, reads, cancels), the admin sees both; the caller's principal
 * on {@code /v1/auth/verify} and {@code /v1/tenant}; {@code /v1/account} for a principal
 * without an account is 403 {@code account_required}.
 */
class OwnershipApiTest {
  static final String MINE = "own-a-" + UUID.randomUUID();
  static final String THEIRS = "own-b-" + UUID.randomUUID();
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    Files.writeString(tenantsDir.resolve("owners.json"), """
        {"id": "owners", "display_name": "Owners",
         "api_keys": [{"id": "k_mine", "sha256": "%s", "tier": "PAID", "account": "acct_1"},
                      {"id": "k_theirs", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 1}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000},
                                     "free": {"capacity": 100000, "refill_per_second": 100000}}},
         "budgets": {"per_account": {"daily_tokens": 5000}},
         "anonymous_route_classes": ["default", "chat", "runs"]}
        """.formatted(ApiKeys.sha256(MINE), ApiKeys.sha256(THEIRS), mock.baseUrl()));
    node = TestNode.start("ownership", TestDatabase.fresh("ownership"), TenantRegistry.load(tenantsDir, false),
        Map.of("atrium.runs.batch.retry-backoff", "50ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
  }

  static String auth(String key) {
    return "Bearer " + key;
  }

  static String session(String key) {
    var created = http.postJson("/v1/chat/sessions", "{\"title\": \"mine\"}", "Authorization", auth(key));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return TestHttp.json(created).path("id").asText();
  }

  static String run(String key) {
    var r = http.postJson("/v1/runs", "{\"type\": \"batch\", \"input\": {\"prompts\": [\"one\"]}}",
        "Authorization", auth(key));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    return TestHttp.json(r).path("run_id").asText();
  }

  @Test
  void twoKeysOfOneTenantEachSeeOnlyTheirOwnSessions() {
    String mine = session(MINE);
    String theirs = session(THEIRS);
    assertThat(http.get("/v1/chat/sessions/" + mine, "Authorization", auth(MINE)).statusCode()).isEqualTo(200);
    assertThat(http.get("/v1/chat/sessions/" + theirs, "Authorization", auth(MINE)).statusCode()).isEqualTo(404);
    assertThat(http.get("/v1/chat/sessions/" + mine + "/messages", "Authorization", auth(THEIRS)).statusCode())
        .isEqualTo(404);
    assertThat(http.postJson("/v1/chat/sessions/" + mine + "/messages", "{\"content\": \"hi\"}",
        "Authorization", auth(THEIRS)).statusCode()).isEqualTo(404);
    assertThat(http.send(http.request("/v1/chat/sessions/" + mine).DELETE().header("Authorization", auth(THEIRS)))
        .statusCode()).isEqualTo(404);
    Eventually.await(Duration.ofSeconds(20), () -> {
      JsonNode list = TestHttp.json(http.get("/v1/chat/sessions", "Authorization", auth(MINE)));
      assertThat(list.path("data").findValuesAsText("id")).contains(mine).doesNotContain(theirs);
      assertThat(list.path("data").findValues("owner")).allSatisfy(owner -> {
        assertThat(owner.path("kind").asText()).isEqualTo("key");
        assertThat(owner.path("id").asText()).isEqualTo("k_mine");
      });
      JsonNode other = TestHttp.json(http.get("/v1/chat/sessions", "Authorization", auth(THEIRS)));
      assertThat(other.path("data").findValuesAsText("id")).contains(theirs).doesNotContain(mine);
      JsonNode admin = TestHttp.json(node.adminHttp().get("/admin/tenants/owners/sessions",
          "Authorization", "Bearer " + node.adminToken));
      assertThat(admin.path("data").findValuesAsText("id")).contains(mine, theirs);
    });
    JsonNode adminView = TestHttp.json(node.adminHttp().get("/admin/tenants/owners/sessions/" + theirs,
        "Authorization", "Bearer " + node.adminToken));
    assertThat(adminView.path("owner").path("kind").asText()).isEqualTo("key");
    assertThat(adminView.path("owner").path("id").asText()).isEqualTo("k_theirs");
    var both = node.adminHttp().get("/admin/tenants/owners/sessions?key_id=k_mine&user_id=u_1",
        "Authorization", "Bearer " + node.adminToken);
    assertThat(both.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(both).path("param").asText()).isEqualTo("user_id");
    // No user owns anything here yet: an admin filter by user finds nothing.
    assertThat(TestHttp.json(node.adminHttp().get("/admin/tenants/owners/sessions?user_id=k_mine",
        "Authorization", "Bearer " + node.adminToken)).path("data")).isEmpty();
  }

  @Test
  void twoKeysOfOneTenantEachSeeOnlyTheirOwnRuns() {
    String mine = run(MINE);
    String theirs = run(THEIRS);
    assertThat(http.get("/v1/runs/" + mine, "Authorization", auth(MINE)).statusCode()).isEqualTo(200);
    assertThat(http.get("/v1/runs/" + mine, "Authorization", auth(THEIRS)).statusCode()).isEqualTo(404);
    assertThat(http.get("/v1/runs/" + mine + "/events", "Authorization", auth(THEIRS)).statusCode()).isEqualTo(404);
    assertThat(http.postJson("/v1/runs/" + theirs + "/cancel", "{}", "Authorization", auth(MINE)).statusCode())
        .isEqualTo(404);
    Eventually.await(Duration.ofSeconds(30), () -> {
      JsonNode list = TestHttp.json(http.get("/v1/runs", "Authorization", auth(MINE)));
      assertThat(list.path("data").findValuesAsText("run_id")).contains(mine).doesNotContain(theirs);
      assertThat(list.path("data").findValues("owner")).allSatisfy(owner ->
          assertThat(owner.path("id").asText()).isEqualTo("k_mine"));
      JsonNode admin = TestHttp.json(node.adminHttp().get("/admin/tenants/owners/runs",
          "Authorization", "Bearer " + node.adminToken));
      assertThat(admin.path("data").findValuesAsText("run_id")).contains(mine, theirs);
    });
  }

  @Test
  void verifyAnswersTheKeysPrincipalAndTheAnonymousOneAndNothingWithoutCredentials() {
    JsonNode key = TestHttp.json(http.get("/v1/auth/verify", "Authorization", auth(MINE)));
    assertThat(key.path("kind").asText()).isEqualTo("key");
    assertThat(key.path("tenant_id").asText()).isEqualTo("owners");
    assertThat(key.path("key_id").asText()).isEqualTo("k_mine");
    assertThat(key.path("account_id").asText()).isEqualTo("acct_1");
    assertThat(key.path("tier").asText()).isEqualTo("PAID");
    assertThat(key.has("user_id")).isTrue();
    assertThat(key.path("user_id").isNull()).isTrue();
    assertThat(key.toString()).doesNotContain(MINE);

    JsonNode anonymous = TestHttp.json(http.get("/v1/auth/verify", "x-tenant-id", "owners"));
    assertThat(anonymous.path("kind").asText()).isEqualTo("anonymous");
    assertThat(anonymous.path("tier").asText()).isEqualTo("FREE");
    assertThat(anonymous.path("key_id").isNull()).isTrue();
    assertThat(anonymous.path("user_id").isNull()).isTrue();
    assertThat(anonymous.path("account_id").isNull()).isTrue();

    var none = http.get("/v1/auth/verify");
    assertThat(none.statusCode()).isEqualTo(401);
    var badKey = http.get("/v1/auth/verify", "Authorization", auth("not-a-key"));
    assertThat(badKey.statusCode()).isEqualTo(401);
    assertThat(badKey.body()).doesNotContain("not-a-key");
  }

  @Test
  void theTenantRouteShowsThePrincipalBesideWhatItShowedBefore() {
    JsonNode key = TestHttp.json(http.get("/v1/tenant", "Authorization", auth(THEIRS)));
    assertThat(key.path("tenant_id").asText()).isEqualTo("owners");
    assertThat(key.path("key_id").asText()).isEqualTo("k_theirs");
    assertThat(key.path("anonymous").asBoolean()).isFalse();
    assertThat(key.path("principal").path("kind").asText()).isEqualTo("key");
    assertThat(key.path("principal").path("key_id").asText()).isEqualTo("k_theirs");
    assertThat(key.path("principal").path("account_id").isNull()).isTrue();
    assertThat(key.path("principal").path("tier").asText()).isEqualTo("PAID");

    JsonNode anonymous = TestHttp.json(http.get("/v1/tenant", "x-tenant-id", "owners"));
    assertThat(anonymous.path("anonymous").asBoolean()).isTrue();
    assertThat(anonymous.path("principal").path("kind").asText()).isEqualTo("anonymous");
    assertThat(anonymous.path("principal").path("tier").asText()).isEqualTo("FREE");
  }

  @Test
  void theAccountRouteAnswersTheKeysAccountAndRefusesAPrincipalWithout() {
    JsonNode account = TestHttp.json(http.get("/v1/account", "Authorization", auth(MINE)));
    assertThat(account.path("account_id").asText()).isEqualTo("acct_1");
    assertThat(account.path("tenant_id").asText()).isEqualTo("owners");
    assertThat(account.path("budget").path("daily_tokens").asLong()).isEqualTo(5000);

    for (String[] headers : new String[][] {{"Authorization", auth(THEIRS)}, {"x-tenant-id", "owners"}}) {
      var refused = http.get("/v1/account", headers);
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.headers().firstValue("content-type")).contains("application/problem+json");
      assertThat(TestHttp.json(refused).path("code").asText()).isEqualTo("account_required");
    }
  }

  @Test
  void anAnonymousCallerOwnsNothingEvenWhereItMayCall() {
    var session = http.postJson("/v1/chat/sessions", "{}", "x-tenant-id", "owners");
    assertThat(session.statusCode()).isEqualTo(403);
    assertThat(TestHttp.json(session).path("code").asText()).isEqualTo("sessions_need_paid_key");
    var list = http.get("/v1/chat/sessions", "x-tenant-id", "owners");
    assertThat(TestHttp.json(list).path("code").asText()).isEqualTo("sessions_need_paid_key");
    var runs = http.get("/v1/runs", "x-tenant-id", "owners");
    assertThat(runs.statusCode()).isEqualTo(403);
    assertThat(TestHttp.json(runs).path("code").asText()).isEqualTo("runs_need_paid_key");
  }
}
