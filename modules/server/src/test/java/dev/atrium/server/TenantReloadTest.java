package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.net.http.HttpResponse;
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
 * Reload on one node (the cluster's behaviour is TenantReloadClusterTest's): the admin
 * routes' shapes, the token they need, and the optional file watch, which reloads a changed
 * directory by itself and leaves an invalid one alone.
 */
class TenantReloadTest {
  private static final String FIRST = "watch-first-" + UUID.randomUUID();
  private static final String SECOND = "watch-second-" + UUID.randomUUID();

  @TempDir static Path tenants;
  private static TestNode node;

  @BeforeAll
  static void start() throws IOException {
    write(FIRST, "Watched");
    node = TestNode.start("tenant_reload_one", TestDatabase.fresh("tenant_reload_one"),
        TenantRegistry.load(tenants, false), Map.of("atrium.tenants.watch", "on"));
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static void write(String key, String name) throws IOException {
    Files.writeString(tenants.resolve("watched.json"), """
        {"id": "watched", "display_name": "%s",
         "api_keys": [{"id": "k_w", "sha256": "%s", "tier": "PAID"}]}
        """.formatted(name, ApiKeys.sha256(key)));
  }

  private JsonNode view() {
    HttpResponse<String> view = node.adminHttp().get("/admin/tenants", "Authorization", "Bearer " + node.adminToken);
    assertThat(view.statusCode()).as(view.body()).isEqualTo(200);
    return TestHttp.json(view);
  }

  @Test
  void theAdminRoutesNeedTheTokenAndShowThisNode() {
    assertThat(node.adminHttp().postJson("/admin/tenants/reload", "").statusCode()).isEqualTo(401);
    assertThat(node.adminHttp().postJson("/admin/tenants/reload", "", "Authorization", "Bearer wrong").statusCode())
        .isEqualTo(401);
    JsonNode view = view();
    assertThat(view.path("nodes")).hasSize(1);
    JsonNode self = view.path("nodes").get(0);
    assertThat(self.path("self").asBoolean()).isTrue();
    assertThat(self.path("node").asText()).isEqualTo(view.path("node").asText());
    assertThat(self.path("set_hash").asText()).isEqualTo(view.path("set_hash").asText());
    assertThat(self.path("tenants").path("watched").path("content_hash").asText())
        .isEqualTo(view.path("tenants").get(0).path("content_hash").asText()).hasSize(64);
    assertThat(view.path("tenants").get(0).path("api_keys").get(0).has("sha256")).isFalse();
  }

  @Test
  void theWatchReloadsAChangedDirectoryAndLeavesAnInvalidOneAlone() throws IOException {
    TestHttp http = node.publicHttp();
    Eventually.await(Duration.ofSeconds(10), () ->
        assertThat(http.get("/v1/tenant", "Authorization", "Bearer " + FIRST).statusCode()).isEqualTo(200));
    long before = view().path("version").asLong();

    write(SECOND, "Watched again");
    Eventually.await(Duration.ofSeconds(20), () -> {
      assertThat(http.get("/v1/tenant", "Authorization", "Bearer " + SECOND).statusCode()).isEqualTo(200);
      assertThat(http.get("/v1/tenant", "Authorization", "Bearer " + FIRST).statusCode()).isEqualTo(401);
    });
    JsonNode after = view();
    assertThat(after.path("version").asLong()).isGreaterThan(before);
    assertThat(after.path("tenants").get(0).path("display_name").asText()).isEqualTo("Watched again");

    // Invalid: the watch publishes nothing, and an explicit reload says why.
    Files.writeString(tenants.resolve("watched.json"), "{\"id\": \"watched\"}");
    HttpResponse<String> refused = node.adminHttp().postJson("/admin/tenants/reload", "",
        "Authorization", "Bearer " + node.adminToken);
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(422);
    assertThat(TestHttp.json(refused).path("errors").toString()).contains("watched.json: field 'display_name'");
    assertThat(view().path("version").asLong()).isEqualTo(after.path("version").asLong());
    assertThat(http.get("/v1/tenant", "Authorization", "Bearer " + SECOND).statusCode()).isEqualTo(200);

    // Valid again and reloaded by hand: applied on this node, the one member.
    write(SECOND, "Watched by hand");
    HttpResponse<String> reload = node.adminHttp().postJson("/admin/tenants/reload", "",
        "Authorization", "Bearer " + node.adminToken);
    assertThat(reload.statusCode()).as(reload.body()).isEqualTo(200);
    JsonNode outcome = TestHttp.json(reload);
    assertThat(outcome.path("nodes")).extracting(n -> n.path("status").asText()).containsExactly("applied");
    assertThat(outcome.path("version").asLong()).isGreaterThan(after.path("version").asLong());
    assertThat(node.publicHttp().get("/v1/tenant", "Authorization", "Bearer " + SECOND).body())
        .contains("Watched by hand");
  }
}
