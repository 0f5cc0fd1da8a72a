package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.testkit.ServerProcess;
import dev.atrium.testkit.ServerProcessBuilder;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * Two nodes in two JVMs, joined through seed nodes, on one database: a session's turns go
 * through either node, and the session outlives the node that held it when that node is
 * stopped with SIGTERM.
 */
class TwoNodeClusterTest {
  private static final String[] DEMO_KEY = {"Authorization", "Bearer demo-key"};
  private static final Pattern UP_MEMBERS = Pattern.compile("(?m)^pekko_cluster_members\\{status=\"up\"} ([0-9.]+)$");
  private static final Duration CLUSTER_FORMS = Duration.ofSeconds(30);
  private static final Duration UNAVAILABLE_AT_MOST = Duration.ofSeconds(30);

  @Test
  void aSessionContinuesOnTheOtherNodeAfterItsNodeStops() {
    DatabaseSettings db = TestDatabase.fresh("two_nodes");
    int seedPort = ServerProcess.freePort();
    String seed = ServerProcess.pekkoAddress(seedPort);
    try (ServerProcess a = node("node-a", db).remotePort(seedPort).seedNodes(seed).launch();
        ServerProcess b = node("node-b", db).seedNodes(seed).launch()) {
      awaitCluster(a, b);

      TestHttp viaA = new TestHttp(ServerProcess.LOOPBACK, a.httpPort());
      TestHttp viaB = new TestHttp(ServerProcess.LOOPBACK, b.httpPort());
      // Stopping A must move the session: use one that lives on A.
      String messages = "/v1/chat/sessions/" + sessionLivingOn(a, viaA) + "/messages";
      assertThat(retryWhileUnavailable(() -> turn(viaA, messages, "first, through A")).statusCode()).isEqualTo(200);
      assertThat(retryWhileUnavailable(() -> turn(viaB, messages, "second, through B")).statusCode()).isEqualTo(200);

      a.stop();
      assertThat(a.isAlive()).isFalse();
      HttpResponse<String> third = retryWhileUnavailable(() -> turn(viaB, messages, "third, through B alone"));
      assertThat(third.statusCode()).as(third.body()).isEqualTo(200);

      var history = retryWhileUnavailable(() -> viaB.get(messages, DEMO_KEY));
      assertThat(history.statusCode()).as(history.body()).isEqualTo(200);
      List<JsonNode> data = StreamSupport.stream(TestHttp.json(history).path("data").spliterator(), false).toList();
      assertThat(data).extracting(m -> m.path("role").asText())
          .containsExactly("user", "assistant", "user", "assistant", "user", "assistant");
      assertThat(data).filteredOn(m -> m.path("role").asText().equals("user")).extracting(m -> m.path("content").asText())
          .containsExactly("first, through A", "second, through B", "third, through B alone");
      assertThat(data).filteredOn(m -> m.path("role").asText().equals("assistant"))
          .extracting(m -> m.path("content").asText())
          .allSatisfy(answer -> assertThat(answer).contains("no language model is configured"));
    }
  }

  /**
   * A tenant's budget spent through either node is not forgotten when the node holding its
   * entity stops and the entity's own writes are lost: on the other node it starts from
   * usage_events and refuses what it refused before.
   */
  @Test
  void aBudgetForgetsNothingWhenItsNodeGoes(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tenants)
      throws Exception {
    java.nio.file.Files.writeString(tenants.resolve("capped.json"), """
        {"id": "capped", "display_name": "Capped",
         "api_keys": [{"id": "k_cap", "sha256": "%s", "tier": "PAID"}],
         "budgets": {"default_max_tokens": 16, "tenant": {"daily_tokens": 600}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(dev.atrium.core.tenant.ApiKeys.sha256("two-node-budget-key")));
    String[] key = {"Authorization", "Bearer two-node-budget-key"};
    DatabaseSettings db = TestDatabase.fresh("two_node_budget");
    int seedPort = ServerProcess.freePort();
    String seed = ServerProcess.pekkoAddress(seedPort);
    try (ServerProcess a = node("node-a", db).tenantsDir(tenants).remotePort(seedPort).seedNodes(seed).launch();
        ServerProcess b = node("node-b", db).tenantsDir(tenants).seedNodes(seed).launch()) {
      awaitCluster(a, b);
      TestHttp viaA = new TestHttp(ServerProcess.LOOPBACK, a.httpPort());
      TestHttp viaB = new TestHttp(ServerProcess.LOOPBACK, b.httpPort());
      String body = "{\"model\": \"local\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
      int ok = 0;
      HttpResponse<String> last = null;
      for (int i = 0; i < 40; i++) {
        TestHttp via = i % 2 == 0 ? viaA : viaB;
        last = retryWhileUnavailable(() -> via.postJson("/v1/chat/completions", body, key));
        if (last.statusCode() != 200) {
          break;
        }
        ok++;
      }
      assertThat(last.statusCode()).as(last.body()).isEqualTo(429);
      assertThat(ok).isPositive();
      int admitted = ok;
      dev.atrium.testkit.Eventually.await(Duration.ofSeconds(10), () ->
          assertThat(usageRows(db)).isEqualTo(admitted));

      boolean onA = entitiesOn(a, "Budget") > 0;
      ServerProcess gone = onA ? a : b;
      TestHttp survivor = onA ? viaB : viaA;
      gone.stop();
      try (var c = java.sql.DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
        c.createStatement().executeUpdate("delete from durable_state where persistence_id like 'Budget|%'");
      }
      HttpResponse<String> after = retryWhileUnavailable(() -> survivor.postJson("/v1/chat/completions", body, key));
      assertThat(after.statusCode()).as(after.body()).isEqualTo(429);
      assertThat(TestHttp.json(after).path("error").path("code").asText()).isEqualTo("budget_exceeded");
      assertThat(usageRows(db)).isEqualTo(admitted);
    }
  }

  private static long usageRows(DatabaseSettings db) {
    try (var c = java.sql.DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
        var rs = c.createStatement().executeQuery("select count(*) from usage_events where tenant_id = 'capped'")) {
      rs.next();
      return rs.getLong(1);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Entities of a type alive on a node, from pekko-management's read-only shard view. */
  private static int entitiesOn(ServerProcess node, String type) {
    var shards = new TestHttp(ServerProcess.LOOPBACK, node.managementPort()).get("/cluster/shards/" + type);
    assertThat(shards.statusCode()).as(shards.body()).isEqualTo(200);
    return TestHttp.json(shards).path("regions").findValues("numEntities").stream().mapToInt(JsonNode::asInt).sum();
  }

  /** A node on the test JVM's classpath, sharing the test's database, with the shipped tenants. */
  private static ServerProcessBuilder node(String name, DatabaseSettings db) {
    return ServerProcess.builder(name, System.getProperty("surefire.test.class.path"))
        .database(db.url(), db.ownerUser(), db.ownerPassword());
  }

  private static HttpResponse<String> turn(TestHttp http, String messages, String content) {
    return http.postJson(messages, "{\"content\": \"" + content + "\", \"stream\": false}", DEMO_KEY);
  }

  /**
   * Creates sessions through {@code node} until one lives there: its shard view counts one
   * more entity after the creation. Shards go to the node with the fewest, so this takes
   * one or two tries.
   */
  private static String sessionLivingOn(ServerProcess node, TestHttp http) {
    for (int attempt = 0; attempt < 5; attempt++) {
      int before = sessionsHostedOn(node);
      var created = retryWhileUnavailable(() ->
          http.postJson("/v1/chat/sessions", "{\"title\": \"two nodes\"}", DEMO_KEY));
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      if (sessionsHostedOn(node) == before + 1) {
        return TestHttp.json(created).path("id").asText();
      }
    }
    return fail("no new session landed on " + node.name() + " in 5 tries");
  }

  /** ChatSession entities alive on a node, from pekko-management's read-only shard view. */
  private static int sessionsHostedOn(ServerProcess node) {
    var shards = new TestHttp(ServerProcess.LOOPBACK, node.managementPort()).get("/cluster/shards/ChatSession");
    assertThat(shards.statusCode()).as(shards.body()).isEqualTo(200);
    return TestHttp.json(shards).path("regions").findValues("numEntities").stream().mapToInt(JsonNode::asInt).sum();
  }

  /** Both nodes healthy, and each seeing both Up. */
  private static void awaitCluster(ServerProcess a, ServerProcess b) {
    a.awaitHealthy();
    b.awaitHealthy();
    awaitUpMembers(a, 2);
    awaitUpMembers(b, 2);
  }

  /** Both nodes must see each other Up before a session's shard can live on either. */
  private static void awaitUpMembers(ServerProcess node, int expected) {
    TestHttp admin = new TestHttp(ServerProcess.LOOPBACK, node.adminPort());
    long deadline = System.nanoTime() + CLUSTER_FORMS.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      var metrics = admin.get("/metrics", "Authorization", "Bearer " + node.adminToken());
      Matcher up = UP_MEMBERS.matcher(metrics.body());
      last = up.find() ? up.group(1) : "(no gauge; status " + metrics.statusCode() + ")";
      if (metrics.statusCode() == 200 && last.matches(expected + "(\\.0+)?")) {
        return;
      }
      pause();
    }
    fail(node.name() + " did not see " + expected + " Up members within " + CLUSTER_FORMS.toSeconds()
        + " s (last: " + last + "); its log " + node.logFile() + " ends:\n" + node.logTail(30));
  }

  /**
   * A 503 from the edge means "try again": the session's shard is still moving, or the rate
   * limiter's bucket did not answer within its ask timeout (a bucket starting on a busy
   * node, or moving). Tries until the deadline.
   */
  private static HttpResponse<String> retryWhileUnavailable(Supplier<HttpResponse<String>> call) {
    long deadline = System.nanoTime() + UNAVAILABLE_AT_MOST.toNanos();
    HttpResponse<String> response = call.get();
    while (response.statusCode() == 503 && System.nanoTime() < deadline) {
      pause();
      response = call.get();
    }
    return response;
  }

  private static void pause() {
    try {
      Thread.sleep(250);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
