package dev.atrium.core.http;

import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.limits.RateLimiter;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A limiter that cannot answer: the tenant's on_limiter_unavailable decides. */
class LimiterUnavailableTest {
  @TempDir static Path dir;
  static ActorTestKit testKit;
  static TestHttp http;

  static final RateLimiter SILENT = new RateLimiter() {
    @Override
    public CompletionStage<Decision> check(Principal principal, RouteClass routeClass, int tokens) {
      return CompletableFuture.failedFuture(new TimeoutException("bucket moving"));
    }

    @Override
    public CompletionStage<StreamSlot> openStream(Principal principal, RouteClass routeClass) {
      return CompletableFuture.failedFuture(new TimeoutException("bucket moving"));
    }

    @Override
    public CompletionStage<Boolean> acquireSlot(String tenantId, String pool, String slotId, int cap, Duration lease) {
      return CompletableFuture.failedFuture(new TimeoutException("bucket moving"));
    }

    @Override
    public void renewSlot(String tenantId, String pool, String slotId, Duration lease) {}

    @Override
    public void releaseSlot(String tenantId, String pool, String slotId) {}
  };

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(dir.resolve("strict.json"), """
        {"id": "strict", "display_name": "S", "api_keys": [{"id": "k", "sha256": "%s", "tier": "PAID"}]}
        """.formatted(ApiKeys.sha256("strict-key")));
    Files.writeString(dir.resolve("lenient.json"), """
        {"id": "lenient", "display_name": "L", "on_limiter_unavailable": "allow",
         "api_keys": [{"id": "k", "sha256": "%s", "tier": "PAID"}]}
        """.formatted(ApiKeys.sha256("lenient-key")));
    TenantDirectives tenants = new TenantDirectives(TenantRegistry.load(dir, false), SILENT);
    testKit = ActorTestKit.create("limiter", com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local"));
    var binding = Http.get(testKit.system()).newServerAt("127.0.0.1", 0)
        .bind(new Edge(new Metrics(), "public").wrap(path("ping", () -> get(() ->
            tenants.principal(RouteClass.DEFAULT, p -> JsonRoutes.json(java.util.Map.of("tenant", p.tenantId())))))))
        .toCompletableFuture().get();
    http = new TestHttp(binding.localAddress());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void denyIsTheDefault503WithRetryAfter() {
    var r = http.get("/ping", "Authorization", "Bearer strict-key");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("retry-after")).contains("1");
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("limiter_unavailable");
  }

  @Test
  void allowLetsTheRequestThrough() {
    var r = http.get("/ping", "Authorization", "Bearer lenient-key");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("ratelimit")).isEmpty();
  }
}
