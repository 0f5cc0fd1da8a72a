package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.ServerProcess;
import dev.atrium.testkit.ServerProcessBuilder;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import dev.atrium.testkit.TestIssuer;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tenant configuration without restart on two nodes in two JVMs, each with its own tenants
 * directory (as two pods with one ConfigMap each): a reload on node A publishes A's files,
 * and B applies them too (a new key works on both, a removed one stops, changed rate
 * limits, guardrails and CORS apply); an invalid set is refused with its problems and changes
 * nothing anywhere; a set B cannot read (a JWKS file only A has) is applied on A while B
 * keeps its set and says why.
 */
class TenantReloadClusterTest {
  private static final String FIRST = "reload-first-" + UUID.randomUUID();
  private static final String SECOND = "reload-second-" + UUID.randomUUID();
  private static final String OTHER = "reload-other-" + UUID.randomUUID();
  private static final String JWT_TENANT_KEY = "reload-jwt-" + UUID.randomUUID();
  private static final Pattern UP_MEMBERS = Pattern.compile("(?m)^pekko_cluster_members\\{status=\"up\"} ([0-9.]+)$");
  private static final Duration SETTLES = Duration.ofSeconds(20);
  private static final String CHAT = "{\"model\": \"local\", \"messages\": [{\"role\": \"user\", \"content\": \"%s\"}]}";

  @Test
  void aReloadOnOneNodeAppliesOnBothAndABadOneChangesNothing(@TempDir Path dirA, @TempDir Path dirB) throws Exception {
    for (Path dir : List.of(dirA, dirB)) {
      writeAcme(dir, FIRST, "https://one.example", "");
      writeOther(dir, 100000);
    }
    DatabaseSettings db = TestDatabase.fresh("tenant_reload");
    int seedPort = ServerProcess.freePort();
    String seed = ServerProcess.pekkoAddress(seedPort);
    try (ServerProcess a = node("node-a", db, dirA).remotePort(seedPort).seedNodes(seed).launch();
        ServerProcess b = node("node-b", db, dirB).seedNodes(seed).launch();
        TestIssuer issuer = TestIssuer.start()) {
      a.awaitHealthy();
      b.awaitHealthy();
      awaitUpMembers(a, 2);
      awaitUpMembers(b, 2);
      List<TestHttp> both = List.of(publicOf(a), publicOf(b));

      // At start: each node's own files (version 0), the same hashes on both.
      JsonNode startA = tenantsView(a);
      assertThat(startA.path("version").asLong()).isZero();
      Eventually.await(SETTLES, () -> assertThat(tenantsView(b).path("nodes")).hasSize(2));
      assertThat(tenantsView(b).path("set_hash").asText()).isEqualTo(startA.path("set_hash").asText());
      for (TestHttp node : both) {
        assertThat(node.get("/v1/tenant", bearer(FIRST)).statusCode()).isEqualTo(200);
        assertThat(node.get("/v1/tenant", bearer(SECOND)).statusCode()).isEqualTo(401);
        assertThat(preflight(node, "https://one.example").statusCode()).isEqualTo(200);
        assertThat(chat(node, FIRST, "tell me about sarin").statusCode()).isEqualTo(200);
      }
      assertThat(publicOf(b).get("/v1/tenant", bearer(OTHER)).statusCode()).isEqualTo(200);
      assertThat(publicOf(b).get("/v1/tenant", bearer(OTHER)).statusCode()).isEqualTo(200);

      // A's files change: the first key replaced by a second, a blocklist, another origin, a rate limit of 1.
      writeAcme(dirA, SECOND, "https://two.example",
          ", \"guardrails\": {\"blocklists\": [{\"code\": \"weapons\", \"terms\": [\"sarin\"]}]}");
      writeOther(dirA, 1);
      HttpResponse<String> reload = reload(a);
      assertThat(reload.statusCode()).as(reload.body()).isEqualTo(200);
      JsonNode published = TestHttp.json(reload);
      long v1 = published.path("version").asLong();
      assertThat(v1).isEqualTo(1);
      assertThat(published.path("applied_everywhere").asBoolean()).as(reload.body()).isTrue();
      assertThat(published.path("nodes")).extracting(n -> n.path("status").asText()).containsExactly("applied", "applied");

      for (TestHttp node : both) {
        assertThat(node.get("/v1/tenant", bearer(SECOND)).statusCode()).isEqualTo(200);
        assertThat(node.get("/v1/tenant", bearer(FIRST)).statusCode()).isEqualTo(401);
        assertThat(preflight(node, "https://two.example").statusCode()).isEqualTo(200);
        assertThat(preflight(node, "https://one.example").statusCode()).isEqualTo(403);
        HttpResponse<String> blocked = chat(node, SECOND, "tell me about sarin");
        assertThat(blocked.statusCode()).as(blocked.body()).isEqualTo(400);
        assertThat(TestHttp.json(blocked).path("error").path("code").asText()).isEqualTo("content_blocked");
      }
      // One token now, and little refill: the bucket is one entity, each node sends its own tenant's capacity.
      assertThat(publicOf(a).get("/v1/tenant", bearer(OTHER)).statusCode()).isEqualTo(200);
      assertThat(publicOf(b).get("/v1/tenant", bearer(OTHER)).statusCode()).isEqualTo(429);

      JsonNode afterA = tenantsView(a);
      Eventually.await(SETTLES, () -> {
        JsonNode viewB = tenantsView(b);
        assertThat(viewB.path("version").asLong()).isEqualTo(v1);
        assertThat(viewB.path("set_hash").asText()).isEqualTo(afterA.path("set_hash").asText());
        assertThat(viewB.path("nodes")).extracting(n -> n.path("version").asLong()).containsExactly(v1, v1);
      });
      assertThat(afterA.path("set_hash").asText()).isNotEqualTo(startA.path("set_hash").asText());
      JsonNode acme = tenant(afterA, "acme");
      assertThat(acme.path("content_hash").asText()).isEqualTo(ApiKeys.sha256(Files.readString(dirA.resolve("acme.json"))));
      assertThat(acme.path("api_keys_hash").asText()).isNotEqualTo(tenant(startA, "acme").path("api_keys_hash").asText());
      assertThat(afterA.toString()).doesNotContain(ApiKeys.sha256(SECOND));

      // A schema error: 422 with the problem, nothing published, nothing changed on either node.
      Files.writeString(dirA.resolve("acme.json"), Files.readString(dirA.resolve("acme.json"))
          .replace("\"display_name\"", "\"colour\": \"red\", \"display_name\""));
      HttpResponse<String> bad = reload(a);
      assertThat(bad.statusCode()).as(bad.body()).isEqualTo(422);
      assertThat(bad.headers().firstValue("content-type").orElse("")).startsWith("application/problem+json");
      JsonNode problem = TestHttp.json(bad);
      assertThat(problem.path("code").asText()).isEqualTo("invalid_tenant_config");
      assertThat(problem.path("errors")).extracting(JsonNode::asText)
          .anySatisfy(e -> assertThat(e).contains("acme.json: field 'colour': unknown field"));
      for (ServerProcess node : List.of(a, b)) {
        assertThat(tenantsView(node).path("version").asLong()).isEqualTo(v1);
        assertThat(publicOf(node).get("/v1/tenant", bearer(SECOND)).statusCode()).isEqualTo(200);
      }

      // A set only A can read: a tenant whose JWKS file is in A's directory alone.
      writeAcme(dirA, SECOND, "https://two.example", "");
      Files.writeString(dirA.resolve("jwt-keys.jwks"), issuer.publishedJwks());
      Files.writeString(dirA.resolve("jwtco.json"), """
          {"id": "jwtco", "display_name": "JWT Co",
           "api_keys": [{"id": "k_jwt", "sha256": "%s", "tier": "PAID"}],
           "auth": {"jwt": {"issuer": "%s", "jwks_file": "jwt-keys.jwks", "algorithms": ["RS256"],
                            "default_tier": "PAID"}}}
          """.formatted(ApiKeys.sha256(JWT_TENANT_KEY), issuer.issuer()));
      HttpResponse<String> partial = reload(a);
      assertThat(partial.statusCode()).as(partial.body()).isEqualTo(200);
      JsonNode split = TestHttp.json(partial);
      long v2 = split.path("version").asLong();
      assertThat(v2).isEqualTo(v1 + 1);
      assertThat(split.path("applied_everywhere").asBoolean()).isFalse();
      JsonNode onB = node(split, b);
      assertThat(onB.path("status").asText()).as(partial.body()).isEqualTo("failed");
      assertThat(onB.path("version").asLong()).isEqualTo(v1);
      assertThat(onB.path("problems")).extracting(JsonNode::asText)
          .anySatisfy(p -> assertThat(p).contains("jwtco.json: field 'auth.jwt.jwks_file'").contains("cannot be read"));
      assertThat(node(split, a).path("status").asText()).isEqualTo("applied");

      assertThat(publicOf(a).get("/v1/tenant", bearer(JWT_TENANT_KEY)).statusCode()).isEqualTo(200);
      assertThat(publicOf(b).get("/v1/tenant", bearer(JWT_TENANT_KEY)).statusCode()).isEqualTo(401);
      // A's JWT verifiers were built again for the new set: the new tenant's users sign in there only.
      String token = issuer.sign(JWSAlgorithm.RS256, issuer.claims("user-7").build());
      HttpResponse<String> user = publicOf(a).get("/v1/tenant", bearer(token));
      assertThat(user.statusCode()).as(user.body()).isEqualTo(200);
      assertThat(TestHttp.json(user).path("tenant_id").asText()).isEqualTo("jwtco");
      HttpResponse<String> unknownThere = publicOf(b).get("/v1/tenant", bearer(token));
      assertThat(unknownThere.statusCode()).isEqualTo(401);
      assertThat(unknownThere.body()).contains("token_issuer_unknown");
      // B keeps the whole set it had: the blocklist of v1 still applies there, no longer on A.
      assertThat(chat(publicOf(b), SECOND, "tell me about sarin").statusCode()).isEqualTo(400);
      assertThat(chat(publicOf(a), SECOND, "tell me about sarin").statusCode()).isEqualTo(200);
      JsonNode drift = tenantsView(a);
      Eventually.await(SETTLES, () -> {
        JsonNode view = tenantsView(a);
        assertThat(node(view, b).path("version").asLong()).isEqualTo(v1);
        assertThat(node(view, b).path("failed").path("version").asLong()).isEqualTo(v2);
        assertThat(node(view, a).path("version").asLong()).isEqualTo(v2);
      });
      assertThat(tenantsView(b).path("version").asLong()).isEqualTo(v1);
      assertThat(drift.path("version").asLong()).isEqualTo(v2);
    }
  }

  private static void writeAcme(Path dir, String key, String origin, String extra) throws IOException {
    Files.writeString(dir.resolve("acme.json"), """
        {"id": "acme", "display_name": "Acme",
         "api_keys": [{"id": "k_acme", "sha256": "%s", "tier": "PAID"}],
         "cors": {"allowed_origins": ["%s"]},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}%s}
        """.formatted(ApiKeys.sha256(key), origin, extra));
  }

  private static void writeOther(Path dir, int capacity) throws IOException {
    Files.writeString(dir.resolve("other.json"), """
        {"id": "other", "display_name": "Other",
         "api_keys": [{"id": "k_other", "sha256": "%s", "tier": "PAID"}],
         "rate_limits": {"default": {"paid": {"capacity": %d, "refill_per_second": %s}}}}
        """.formatted(ApiKeys.sha256(OTHER), capacity, capacity == 1 ? "0.001" : "100000"));
  }

  private static ServerProcessBuilder node(String name, DatabaseSettings db, Path tenants) {
    return ServerProcess.builder(name, System.getProperty("surefire.test.class.path"))
        .database(db.url(), db.ownerUser(), db.ownerPassword())
        .tenantsDir(tenants);
  }

  private static TestHttp publicOf(ServerProcess node) {
    return new TestHttp(ServerProcess.LOOPBACK, node.httpPort());
  }

  private static TestHttp adminOf(ServerProcess node) {
    return new TestHttp(ServerProcess.LOOPBACK, node.adminPort());
  }

  private static String[] bearer(String key) {
    return new String[] {"Authorization", "Bearer " + key};
  }

  private static HttpResponse<String> reload(ServerProcess node) {
    return adminOf(node).postJson("/admin/tenants/reload", "", "Authorization", "Bearer " + node.adminToken());
  }

  private static JsonNode tenantsView(ServerProcess node) {
    HttpResponse<String> view = adminOf(node).get("/admin/tenants", "Authorization", "Bearer " + node.adminToken());
    assertThat(view.statusCode()).as(view.body()).isEqualTo(200);
    return TestHttp.json(view);
  }

  private static JsonNode tenant(JsonNode view, String id) {
    for (JsonNode t : view.path("tenants")) {
      if (t.path("id").asText().equals(id)) {
        return t;
      }
    }
    return fail("no tenant " + id + " in " + view);
  }

  /** The entry of {@code node} in a view's or a reload's node list, by its Pekko port. */
  private static JsonNode node(JsonNode view, ServerProcess node) {
    List<String> seen = new ArrayList<>();
    for (JsonNode n : view.path("nodes")) {
      seen.add(n.path("node").asText());
      if (n.path("node").asText().endsWith(":" + node.remotePort())) {
        return n;
      }
    }
    return fail("no node on port " + node.remotePort() + " among " + seen);
  }

  private static HttpResponse<String> preflight(TestHttp http, String origin) {
    return http.send(http.request("/v1/chat/completions").method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", origin).header("Access-Control-Request-Method", "POST"));
  }

  private static HttpResponse<String> chat(TestHttp http, String key, String content) {
    return http.postJson("/v1/chat/completions", CHAT.formatted(content), bearer(key));
  }

  private static void awaitUpMembers(ServerProcess node, int expected) {
    Eventually.await(Duration.ofSeconds(60), () -> {
      var metrics = adminOf(node).get("/metrics", "Authorization", "Bearer " + node.adminToken());
      Matcher up = UP_MEMBERS.matcher(metrics.body());
      assertThat(up.find() ? up.group(1) : "none").matches(expected + "(\\.0+)?");
    });
  }
}
