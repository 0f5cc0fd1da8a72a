package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rate limits and stream slots at the edge of a real node. */
class RateLimitTest {
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static TestNode node;
  static TestHttp http;

  static String tenant(String id, String keys, String mockUrl) {
    return """
        {"id": "%s", "display_name": "%s", "api_keys": [%s],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 3, "refill_per_second": 0.05}},
                         "completions": {"paid": {"capacity": 2, "refill_per_second": 0.05}},
                         "chat": {"paid": {"capacity": 1000, "refill_per_second": 1000}}},
         "stream_slots": {"per_client": 1, "per_tenant": 2}}
        """.formatted(id, id, keys, mockUrl);
  }

  static String key(String id) {
    return "{\"id\": \"" + id + "\", \"sha256\": \"" + ApiKeys.sha256(id + "-secret") + "\", \"tier\": \"PAID\"}";
  }

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    Files.writeString(tenantsDir.resolve("alpha.json"), tenant("alpha", key("k_a1") + "," + key("k_a2") + "," + key("k_a3")
        + "," + key("k_a4") + "," + key("k_a5"), mock.baseUrl()));
    Files.writeString(tenantsDir.resolve("beta.json"), tenant("beta", key("k_b1"), mock.baseUrl()));
    node = TestNode.start("limits", TestDatabase.fresh("rate_limits"), TenantRegistry.load(tenantsDir, false), Map.of());
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
  }

  static String bearer(String keyId) {
    return "Bearer " + keyId + "-secret";
  }

  @Test
  void aBurstThen429WithExactHeaders() {
    for (int i = 0; i < 3; i++) {
      var r = http.get("/v1/tenant", "Authorization", bearer("k_a1"));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("ratelimit-policy")).contains("\"default\";q=3;w=60");
      assertThat(r.headers().firstValue("ratelimit")).contains("\"default\";r=" + (2 - i) + ";t=" + (20 * (i + 1)));
    }
    var denied = http.get("/v1/tenant", "Authorization", bearer("k_a1"), "x-request-id", "limited-1");
    assertThat(denied.statusCode()).isEqualTo(429);
    assertThat(denied.headers().firstValue("retry-after")).contains("20");
    assertThat(denied.headers().firstValue("ratelimit-policy")).contains("\"default\";q=3;w=60");
    assertThat(denied.headers().firstValue("ratelimit")).contains("\"default\";r=0;t=60");
    assertThat(denied.headers().firstValue("content-type")).contains("application/problem+json");
    JsonNode problem = TestHttp.json(denied);
    assertThat(problem.path("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(problem.path("request_id").asText()).isEqualTo("limited-1");
    assertThat(problem.path("retry_after_seconds").asLong()).isEqualTo(20);
  }

  @Test
  void openAiRoutesAnswer429InOpenAisShape() {
    for (int i = 0; i < 2; i++) {
      assertThat(http.get("/v1/models", "Authorization", bearer("k_a2")).statusCode()).isEqualTo(200);
    }
    var denied = http.get("/v1/models", "Authorization", bearer("k_a2"));
    assertThat(denied.statusCode()).isEqualTo(429);
    assertThat(denied.headers().firstValue("retry-after")).contains("20");
    assertThat(denied.headers().firstValue("ratelimit-policy")).contains("\"completions\";q=2;w=40");
    JsonNode error = TestHttp.json(denied).path("error");
    assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(error.path("type").asText()).isEqualTo("requests");
  }

  @Test
  void tenantsKeysAndRouteClassesHaveTheirOwnBuckets() {
    for (int i = 0; i < 3; i++) {
      http.get("/v1/tenant", "Authorization", bearer("k_a3"));
    }
    assertThat(http.get("/v1/tenant", "Authorization", bearer("k_a3")).statusCode()).isEqualTo(429);
    assertThat(http.get("/v1/tenant", "Authorization", bearer("k_a4")).statusCode()).isEqualTo(200);
    assertThat(http.get("/v1/tenant", "Authorization", bearer("k_b1")).statusCode()).isEqualTo(200);
    assertThat(http.get("/v1/models", "Authorization", bearer("k_a3")).statusCode()).isEqualTo(200);
  }

  static CompletableFuture<HttpResponse<String>> openStream(String keyId) {
    return http.client().sendAsync(http.request("/v1/chat/completions")
            .header("Authorization", bearer(keyId)).header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                "{\"model\": \"mock\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"go\"}]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static void awaitOpenStreams(int n) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (mock.stats().openStreams() < n) {
      assertThat(System.nanoTime()).as("%d streams open", n).isLessThan(deadline);
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  @Test
  void openStreamsAreCappedPerClientAndPerTenant() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(40).withChunkDelay(Duration.ofMillis(50)));
    try {
      var first = openStream("k_a5");
      awaitOpenStreams(1);
      var sameClient = http.postJson("/v1/chat/completions",
          "{\"model\": \"mock\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
          "Authorization", bearer("k_a5"));
      assertThat(sameClient.statusCode()).isEqualTo(429);
      assertThat(TestHttp.json(sameClient).path("error").path("code").asText()).isEqualTo("stream_limit_exceeded");
      assertThat(TestHttp.json(sameClient).path("error").path("message").asText()).contains("client");

      var second = openStream("k_a4");
      awaitOpenStreams(2);
      var overTenant = http.postJson("/v1/chat/completions",
          "{\"model\": \"mock\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
          "Authorization", bearer("k_a1"));
      assertThat(overTenant.statusCode()).isEqualTo(429);
      assertThat(TestHttp.json(overTenant).path("error").path("message").asText()).contains("tenant");
      // Another tenant has slots of its own.
      var otherTenant = openStream("k_b1");

      assertThat(first.get().body()).endsWith("data: [DONE]\n\n");
      assertThat(second.get().body()).endsWith("data: [DONE]\n\n");
      assertThat(otherTenant.get().body()).endsWith("data: [DONE]\n\n");
      // Ended streams gave their slots back. k_a5 has spent its two completions tokens (the refill is
      // slow on purpose), so an admin resets that bucket first: what is checked here is the slot.
      mock.configure(MockLlm.Behaviour.defaults());
      TestHttp admin = node.adminHttp();
      String token = "Bearer " + node.adminToken;
      ChatApiTest.await(Duration.ofSeconds(10), () -> {
        for (String bucket : new String[] {"streams/key:k_a5", "streams/tenant"}) {
          JsonNode view = TestHttp.json(admin.get("/admin/tenants/alpha/limits/" + bucket, "Authorization", token));
          assertThat(view.path("open_slots").asInt()).as(bucket).isZero();
        }
      });
      var reset = admin.send(admin.request("/admin/tenants/alpha/limits/completions/key:k_a5")
          .DELETE().header("Authorization", token));
      assertThat(reset.statusCode()).isEqualTo(204);
      var again = openStream("k_a5").get();
      assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
    } finally {
      mock.configure(MockLlm.Behaviour.defaults());
    }
  }

  @Test
  void adminsListInspectAndResetBuckets() {
    for (int i = 0; i < 3; i++) {
      http.get("/v1/tenant", "Authorization", bearer("k_a2"));
    }
    assertThat(http.get("/v1/tenant", "Authorization", bearer("k_a2")).statusCode()).isEqualTo(429);
    TestHttp admin = node.adminHttp();
    String token = "Bearer " + node.adminToken;

    var one = admin.get("/admin/tenants/alpha/limits/default/key:k_a2", "Authorization", token);
    assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
    JsonNode view = TestHttp.json(one);
    assertThat(view.path("client_key").asText()).isEqualTo("default/key:k_a2");
    assertThat(view.path("capacity").asInt()).isEqualTo(3);
    assertThat(view.path("refill_per_second").asDouble()).isEqualTo(0.05);
    assertThat(view.path("tokens").asDouble()).isLessThan(1.0);
    assertThat(view.has("last_refill")).isTrue();

    ChatApiTest.await(Duration.ofSeconds(10), () -> {
      JsonNode list = TestHttp.json(admin.get("/admin/tenants/alpha/limits", "Authorization", token));
      assertThat(list.path("buckets").findValuesAsText("client_key")).contains("default/key:k_a2");
    });
    JsonNode betaList = TestHttp.json(admin.get("/admin/tenants/beta/limits", "Authorization", token));
    assertThat(betaList.path("buckets").findValuesAsText("client_key")).doesNotContain("default/key:k_a2");

    var reset = admin.send(admin.request("/admin/tenants/alpha/limits/default/key:k_a2").DELETE().header("Authorization", token));
    assertThat(reset.statusCode()).isEqualTo(204);
    var after = http.get("/v1/tenant", "Authorization", bearer("k_a2"));
    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(after.headers().firstValue("ratelimit")).hasValueSatisfying(v -> assertThat(v).startsWith("\"default\";r=2;"));

    assertThat(admin.get("/admin/tenants/alpha/limits", "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
    assertThat(admin.get("/admin/tenants/alpha/limits").statusCode()).isEqualTo(401);
    assertThat(admin.get("/admin/tenants/alpha/limits/default/key:never-used", "Authorization", token).statusCode())
        .isEqualTo(404);
    assertThat(admin.get("/admin/tenants/nope/limits", "Authorization", token).statusCode()).isEqualTo(404);
  }
}
