package dev.atrium.limits;

import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.http.Edge;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin routes over real HTTP on a one-node cluster: inspect, reset, and what is not found. */
class LimitsAdminRoutesTest {
  @TempDir static Path tenantsDir;
  static ActorTestKit testKit;
  static String baseUrl;
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("limits_admin");
    testKit = ActorTestKit.create("limits-admin", TestConfig.forDatabase(db));
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    for (String tenant : new String[] {"acme", "other"}) {
      Files.writeString(tenantsDir.resolve(tenant + ".json"), """
          {"id": "%s", "display_name": "%s", "api_keys": [],
           "models": {"default_model": "local", "models": {"local": {"provider": "local"}},
                      "providers": {"local": {"type": "local"}}}}
          """.formatted(tenant, tenant));
    }
    LimitsModule limits = LimitsModule.start(testKit.system(), TenantRegistry.load(tenantsDir, false),
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    var binding = Http.get(testKit.system()).newServerAt("127.0.0.1", 0)
        .bind(new Edge(new Metrics(), "admin").wrap(pathPrefix("admin", limits::adminRoutes)))
        .toCompletableFuture().get();
    baseUrl = "http://127.0.0.1:" + binding.localAddress().getPort() + "/admin/tenants/";
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  static HttpResponse<String> send(String method, String path) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20)).build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }

  static void use(String tenantId, String clientKey) {
    var bucket = ClusterSharding.get(testKit.system())
        .entityRefFor(TokenBucket.ENTITY_KEY, TokenBucket.entityId(tenantId, clientKey));
    var verdict = bucket.<TokenBucket.Verdict>ask(r -> new TokenBucket.Check(tenantId, 1, 3, 0.05, r),
        Duration.ofSeconds(15)).toCompletableFuture().join();
    assertThat(verdict.allowed()).isTrue();
  }

  @Test
  void inspectsAndResetsAUsedBucket() throws Exception {
    use("acme", "default/key:k_1");

    var inspected = send("GET", "acme/limits/default/key:k_1");
    assertThat(inspected.statusCode()).as(inspected.body()).isEqualTo(200);
    JsonNode view = JSON.readTree(inspected.body());
    assertThat(view.path("client_key").asText()).isEqualTo("default/key:k_1");
    assertThat(view.path("capacity").asInt()).isEqualTo(3);
    assertThat(view.path("refill_per_second").asDouble()).isEqualTo(0.05);
    assertThat(view.path("tokens").asDouble()).isLessThan(3.0);
    assertThat(view.has("last_refill")).isTrue();
    assertThat(view.has("open_slots")).isTrue();

    var reset = send("DELETE", "acme/limits/default/key:k_1");
    assertThat(reset.statusCode()).as(reset.body()).isEqualTo(204);
    assertThat(JSON.readTree(send("GET", "acme/limits/default/key:k_1").body()).path("tokens").asDouble())
        .isEqualTo(3.0);
  }

  @Test
  void aBucketNeverUsedOrAnotherTenantsIsNotFound() throws Exception {
    use("acme", "default/key:k_2");
    for (String path : new String[] {"acme/limits/default/key:never-used", "other/limits/default/key:k_2"}) {
      var response = send("GET", path);
      assertThat(response.statusCode()).as(path).isEqualTo(404);
      assertThat(response.body()).contains("No such bucket.").contains("not_found");
    }
    assertThat(send("DELETE", "acme/limits/").statusCode()).isEqualTo(404);
    assertThat(send("GET", "nope/limits").statusCode()).isEqualTo(404);
  }

  @Test
  void listsTheTenantsBucketsOnly() throws Exception {
    use("acme", "chat/key:k_3");
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    JsonNode list = JSON.readTree(send("GET", "acme/limits").body());
    // Listed once written, within a second of the check.
    while (!list.path("buckets").findValuesAsText("client_key").contains("chat/key:k_3") && System.nanoTime() < deadline) {
      Thread.sleep(200);
      list = JSON.readTree(send("GET", "acme/limits").body());
    }
    assertThat(list.path("buckets").findValuesAsText("client_key")).contains("chat/key:k_3");
    assertThat(JSON.readTree(send("GET", "other/limits").body()).path("buckets").findValuesAsText("client_key"))
        .doesNotContain("chat/key:k_3");
  }
}
