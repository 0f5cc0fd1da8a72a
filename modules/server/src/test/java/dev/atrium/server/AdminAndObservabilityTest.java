package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.TestHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The admin port (token, tenants, metrics) and what the node's logs never contain. */
class AdminAndObservabilityTest {
  static CapturedLogs logs;
  static TestNode node;

  @BeforeAll
  static void start() {
    logs = CapturedLogs.capture();
    node = TestNode.start("admin");
  }

  @AfterAll
  static void stop() {
    node.close();
    logs.close();
  }

  @Test
  void adminRoutesNeedTheAdminToken() {
    TestHttp admin = node.adminHttp();
    var missing = admin.get("/admin/tenants");
    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(missing.headers().firstValue("content-type")).contains("application/problem+json");
    assertThat(TestHttp.json(missing).path("code").asText()).isEqualTo("invalid_admin_token");

    var wrong = admin.get("/admin/tenants", "Authorization", "Bearer " + node.adminToken + "x");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).doesNotContain(node.adminToken);

    // A tenant's API key is not an admin token.
    assertThat(admin.get("/admin/tenants", "Authorization", "Bearer demo-key").statusCode()).isEqualTo(401);

    var ok = admin.get("/admin/tenants", "Authorization", "Bearer " + node.adminToken);
    assertThat(ok.statusCode()).isEqualTo(200);
    JsonNode tenants = TestHttp.json(ok).path("tenants");
    assertThat(tenants.findValuesAsText("id")).contains("demo", "acme", "k_demo");
    assertThat(ok.body()).doesNotContain("sha256").doesNotContain("c48a01f49fd0");
  }

  @Test
  void oneTenantCanBeInspectedAndAnUnknownOneIs404() {
    TestHttp admin = node.adminHttp();
    var acme = admin.get("/admin/tenants/acme", "Authorization", "Bearer " + node.adminToken);
    assertThat(TestHttp.json(acme).path("display_name").asText()).startsWith("Acme");
    var unknown = admin.get("/admin/tenants/nope", "Authorization", "Bearer " + node.adminToken);
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(unknown).path("request_id").asText()).isNotBlank();
  }

  @Test
  void metricsShowRequestsByRouteClassStatusAndTenant() {
    TestHttp http = node.publicHttp();
    for (int i = 0; i < 3; i++) {
      assertThat(http.get("/v1/tenant", "Authorization", "Bearer demo-key").statusCode()).isEqualTo(200);
    }
    assertThat(http.get("/v1/tenant", "Authorization", "Bearer acme-key").statusCode()).isEqualTo(200);
    assertThat(http.get("/v1/tenant", "x-tenant-id", "acme").statusCode()).isEqualTo(401);

    var metrics = node.adminHttp().get("/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
    String text = metrics.body();
    assertThat(text).containsPattern(
        "atrium_http_requests_total\\{port=\"public\",route_class=\"default\",status=\"200\",tenant=\"demo\"} [3-9]");
    assertThat(text).contains(
        "atrium_http_requests_total{port=\"public\",route_class=\"default\",status=\"200\",tenant=\"acme\"} 1");
    assertThat(text).contains(
        "atrium_http_requests_total{port=\"public\",route_class=\"default\",status=\"401\",tenant=\"acme\"} 1");
    assertThat(text).contains("atrium_http_request_duration_seconds_bucket{port=\"public\",route_class=\"default\"");
    assertThat(text).contains("jvm_memory_used_bytes", "jvm_threads_live_threads", "process_cpu_usage");
    assertThat(text).contains("pekko_cluster_members{status=\"up\"} 1");
    assertThat(text).contains("pekko_cluster_unreachable_members 0");
  }

  @Test
  void logsNeverContainAPresentedKeyOrTheAdminToken() {
    TestHttp http = node.publicHttp();
    String wrongKey = "sk-wrong-" + java.util.UUID.randomUUID();
    http.get("/v1/tenant", "Authorization", "Bearer demo-key", "x-request-id", "grep-me-1");
    http.get("/v1/tenant", "Authorization", "Bearer " + wrongKey);
    http.get("/v1/tenant", "x-api-key", wrongKey);
    http.get("/v1/tenant", "Authorization", "Basic " + wrongKey);
    http.get("/v1/tenant?api_key=" + wrongKey, "Authorization", "Bearer demo-key");
    node.adminHttp().get("/admin/tenants", "Authorization", "Bearer " + node.adminToken);
    node.adminHttp().get("/admin/tenants", "Authorization", "Bearer " + node.adminToken + "-wrong");

    // The requests were logged (so the logs were captured at all)...
    assertThat(logs.linesContaining("grep-me-1")).hasSize(1);
    assertThat(logs.linesContaining("\"key_id\":\"k_demo\"")).isNotEmpty();
    // ...and none of them holds a key or token.
    assertThat(logs.linesContaining("demo-key")).isEmpty();
    assertThat(logs.linesContaining(wrongKey)).isEmpty();
    assertThat(logs.linesContaining(node.adminToken)).isEmpty();
  }
}
