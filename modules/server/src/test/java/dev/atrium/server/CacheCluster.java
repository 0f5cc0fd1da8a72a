package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.OpenAiMessages;
import dev.atrium.gateway.cache.CacheKey;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.ServerProcess;
import dev.atrium.testkit.ServerProcessBuilder;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The response cache's test cluster: two nodes in two JVMs, joined through seed nodes, on
 * one fresh PostgreSQL, with tenants whose model {@code mock} is the mock upstream:
 * {@code cached} (the cache, callers' keys; a PAID and a FREE key), {@code short} (a TTL of
 * 1 s), {@code other}, {@code plain} (no cache) and {@code budgeted} (the cache and a cap);
 * and what the tests read of it: the {@code response_cache} rows, usage rows, a budget.
 */
record CacheCluster(DatabaseSettings db, ServerProcess a, ServerProcess b) implements AutoCloseable {
  static final String PAID = "cache-paid-" + UUID.randomUUID();
  static final String FREE = "cache-free-" + UUID.randomUUID();
  static final String SHORT = "cache-short-" + UUID.randomUUID();
  static final String OTHER = "cache-other-" + UUID.randomUUID();
  static final String PLAIN = "cache-plain-" + UUID.randomUUID();
  static final String BUDGETED = "cache-budgeted-" + UUID.randomUUID();
  static final double INPUT = 2.5;
  static final double OUTPUT = 10;
  static final String ADMIN_TOKEN = "admin-" + UUID.randomUUID();

  static CacheCluster start(MockLlm mock, Path tenantsDir, Path configDir) throws IOException {
    tenant(tenantsDir, mock, "cached", "\"response_cache\": true, \"byok\": true",
        "[{\"id\": \"k_paid\", \"sha256\": \"%s\", \"tier\": \"PAID\"}, {\"id\": \"k_free\", \"sha256\": \"%s\", \"tier\": \"FREE\"}]"
            .formatted(ApiKeys.sha256(PAID), ApiKeys.sha256(FREE)), "");
    tenant(tenantsDir, mock, "short", "\"response_cache\": true", key("k_short", SHORT),
        "\"response_cache\": {\"ttl_seconds\": 1},");
    tenant(tenantsDir, mock, "other", "\"response_cache\": true", key("k_other", OTHER), "");
    tenant(tenantsDir, mock, "plain", "\"byok\": false", key("k_plain", PLAIN), "");
    // A cap no test reaches: every call that goes upstream holds and settles its tokens.
    tenant(tenantsDir, mock, "budgeted", "\"response_cache\": true", key("k_budgeted", BUDGETED),
        "\"budgets\": {\"tenant\": {\"daily_tokens\": 1000000000}},");
    // Prices are numbers, which system properties cannot carry: a config file that adds them to the shipped one.
    Files.writeString(configDir.resolve("prices.conf"), """
        include classpath("application.conf")
        atrium.usage.prices.mock-model { input = %s, output = %s }
        atrium.usage.flush-interval = 50ms
        """.formatted(INPUT, OUTPUT));
    DatabaseSettings db = TestDatabase.fresh("response_cache");
    int seedPort = ServerProcess.freePort();
    String seed = ServerProcess.pekkoAddress(seedPort);
    ServerProcess a = node("cache-a", db, tenantsDir, configDir).remotePort(seedPort).seedNodes(seed).launch();
    ServerProcess b = node("cache-b", db, tenantsDir, configDir).seedNodes(seed).launch();
    CacheCluster cluster = new CacheCluster(db, a, b);
    try {
      a.awaitHealthy();
      b.awaitHealthy();
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  TestHttp viaA() {
    return new TestHttp(ServerProcess.LOOPBACK, a.httpPort());
  }

  TestHttp viaB() {
    return new TestHttp(ServerProcess.LOOPBACK, b.httpPort());
  }

  TestHttp adminOfA() {
    return new TestHttp(ServerProcess.LOOPBACK, a.adminPort());
  }

  long rows(String tenant) {
    return ((Number) UsageTest.query(db, "select count(*) as n from response_cache where tenant_id = ?", tenant)
        .get(0).get("n")).longValue();
  }

  /** Waits until the cache holds {@code n} answers of {@code tenant} (its writes are behind the call). */
  void awaitRows(String tenant, long n) {
    await(Duration.ofSeconds(10), () -> assertThat(rows(tenant)).isEqualTo(n));
  }

  /**
   * Waits until the table holds the answer to the chat completion {@code body} of
   * {@code tenant} (its writes are behind the call): its row, found by the key the gateway
   * derives from the body's messages and options.
   */
  void awaitStored(String tenant, String body) {
    JsonNode request;
    try {
      request = Json.MAPPER.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<ChatMessage> messages = new ArrayList<>();
    request.path("messages").forEach(m -> messages.add(OpenAiMessages.read(m)));
    ObjectNode options = ((ObjectNode) request).deepCopy();
    options.remove(List.of("model", "messages"));
    byte[] key = CacheKey.of(tenant, "mock", new ChatRequest("mock", messages, options)).bytes();
    await(Duration.ofSeconds(10), () -> assertThat(UsageTest.query(db,
        "select 1 from response_cache where tenant_id = ? and cache_key = ?", tenant, key)).hasSize(1));
  }

  /** When the tenant's one row was last written. */
  Object storedAt(String tenant) {
    return UsageTest.query(db, "select created_at from response_cache where tenant_id = ?", tenant).get(0).get("created_at");
  }

  Map<String, Object> usage(String requestId) {
    List<Map<String, Object>> found = new ArrayList<>();
    await(Duration.ofSeconds(10), () -> {
      found.clear();
      found.addAll(UsageTest.rowsIn(db, "request_id = ?", requestId));
      assertThat(found).hasSize(1);
    });
    return found.get(0);
  }

  /** The budgeted tenant's own scope for today, as the admin API shows it. */
  JsonNode tenantDay() {
    var view = adminOfA().get("/admin/tenants/budgeted/budgets",
        "Authorization", "Bearer " + ADMIN_TOKEN);
    assertThat(view.statusCode()).as(view.body()).isEqualTo(200);
    for (JsonNode scope : TestHttp.json(view).path("scopes")) {
      if (scope.path("scope").asText().equals("tenant") && scope.path("period").asText().equals("day")) {
        return scope;
      }
    }
    throw new AssertionError("no tenant day scope in " + view.body());
  }

  private static String key(String id, String secret) {
    return "[{\"id\": \"%s\", \"sha256\": \"%s\", \"tier\": \"PAID\"}]".formatted(id, ApiKeys.sha256(secret));
  }

  /** A tenant whose model {@code mock} is the mock upstream (no retries: a 500 is the caller's answer at once). */
  private static void tenant(Path dir, MockLlm mock, String id, String features, String keys, String more)
      throws IOException {
    Files.writeString(dir.resolve(id + ".json"), """
        {"id": "%s", "display_name": "%s", "api_keys": %s,
         "features": {%s}, %s
         "byok": {"providers": {"openai": "up"}},
         "on_limiter_unavailable": "allow",
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000},
                                     "free": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(id, id, keys, features, more, mock.baseUrl()));
  }

  private static ServerProcessBuilder node(String name, DatabaseSettings db, Path tenantsDir, Path configDir) {
    return ServerProcess.builder(name, System.getProperty("surefire.test.class.path"))
        .database(db.url(), db.ownerUser(), db.ownerPassword())
        .tenantsDir(tenantsDir)
        .adminToken(ADMIN_TOKEN)
        .systemProperty("config.file", configDir.resolve("prices.conf").toString());
  }

  @Override
  public void close() {
    b.close();
    a.close();
  }
}
