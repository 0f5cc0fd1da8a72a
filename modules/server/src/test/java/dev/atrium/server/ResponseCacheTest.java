package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.DatabaseSettings;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.OpenAiMessages;
import dev.atrium.gateway.cache.CacheKey;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.ServerProcess;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The response cache on a real two-node cluster (two JVMs joined through seed nodes), its
 * PostgreSQL and the mock upstream: an answer stored through one node is a hit on the other
 * and never reaches the upstream again; hits replay in each door's framing, are metered with
 * cost 0 and {@code cache_hit}, and say {@code x-atrium-cache: hit}; errors, truncated
 * answers, FREE-tier and BYO-key calls, another tenant's calls and {@code cache-control}
 * bypasses never get a cached answer; entries expire with their tenant's TTL and the prune
 * job deletes them.
 */
class ResponseCacheTest {
  static final String PAID = "cache-paid-" + UUID.randomUUID();
  static final String FREE = "cache-free-" + UUID.randomUUID();
  static final String SHORT = "cache-short-" + UUID.randomUUID();
  static final String OTHER = "cache-other-" + UUID.randomUUID();
  static final String PLAIN = "cache-plain-" + UUID.randomUUID();
  static final String BUDGETED = "cache-budgeted-" + UUID.randomUUID();
  static final double INPUT = 2.5;
  static final double OUTPUT = 10;
  static final String ADMIN_TOKEN = "admin-" + UUID.randomUUID();
  @TempDir static Path tenantsDir;
  @TempDir static Path configDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static ServerProcess a;
  static ServerProcess b;
  static TestHttp viaA;
  static TestHttp viaB;

  @BeforeAll
  static void start() throws IOException {
    mock = MockLlm.startLocal();
    tenant("cached", "\"response_cache\": true, \"byok\": true",
        "[{\"id\": \"k_paid\", \"sha256\": \"%s\", \"tier\": \"PAID\"}, {\"id\": \"k_free\", \"sha256\": \"%s\", \"tier\": \"FREE\"}]"
            .formatted(ApiKeys.sha256(PAID), ApiKeys.sha256(FREE)), "");
    tenant("short", "\"response_cache\": true", key("k_short", SHORT), "\"response_cache\": {\"ttl_seconds\": 1},");
    tenant("other", "\"response_cache\": true", key("k_other", OTHER), "");
    tenant("plain", "\"byok\": false", key("k_plain", PLAIN), "");
    // A cap no test reaches: every call that goes upstream holds and settles its tokens.
    tenant("budgeted", "\"response_cache\": true", key("k_budgeted", BUDGETED),
        "\"budgets\": {\"tenant\": {\"daily_tokens\": 1000000000}},");
    // Prices are numbers, which system properties cannot carry: a config file that adds them to the shipped one.
    Files.writeString(configDir.resolve("prices.conf"), """
        include classpath("application.conf")
        atrium.usage.prices.mock-model { input = %s, output = %s }
        atrium.usage.flush-interval = 50ms
        """.formatted(INPUT, OUTPUT));
    db = TestDatabase.fresh("response_cache");
    int seedPort = ServerProcess.freePort();
    String seed = ServerProcess.pekkoAddress(seedPort);
    a = node("cache-a").remotePort(seedPort).seedNodes(seed).launch();
    b = node("cache-b").seedNodes(seed).launch();
    a.awaitHealthy();
    b.awaitHealthy();
    viaA = new TestHttp(ServerProcess.LOOPBACK, a.httpPort());
    viaB = new TestHttp(ServerProcess.LOOPBACK, b.httpPort());
  }

  private static String key(String id, String secret) {
    return "[{\"id\": \"%s\", \"sha256\": \"%s\", \"tier\": \"PAID\"}]".formatted(id, ApiKeys.sha256(secret));
  }

  /** A tenant whose model {@code mock} is the mock upstream (no retries: a 500 is the caller's answer at once). */
  private static void tenant(String id, String features, String keys, String more) throws IOException {
    Files.writeString(tenantsDir.resolve(id + ".json"), """
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

  private static dev.atrium.testkit.ServerProcessBuilder node(String name) {
    return ServerProcess.builder(name, System.getProperty("surefire.test.class.path"))
        .database(db.url(), db.ownerUser(), db.ownerPassword())
        .tenantsDir(tenantsDir)
        .adminToken(ADMIN_TOKEN)
        .systemProperty("config.file", configDir.resolve("prices.conf").toString());
  }

  @AfterAll
  static void stop() {
    if (b != null) {
      b.close();
    }
    if (a != null) {
      a.close();
    }
    mock.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  /** A prompt no other test sends. */
  static String unique() {
    return "question " + UUID.randomUUID();
  }

  static HttpResponse<String> completion(TestHttp http, String key, boolean stream, String content, String... headers) {
    return completionBody(http, key, body(stream, content), headers);
  }

  static String body(boolean stream, String content) {
    return """
        {"model": "mock", "stream": %s, "stream_options": {"include_usage": true},
         "messages": [{"role": "user", "content": "%s"}]}""".formatted(stream, content);
  }

  static HttpResponse<String> completionBody(TestHttp http, String key, String body, String... headers) {
    List<String> all = new ArrayList<>(List.of("Authorization", "Bearer " + key));
    all.addAll(List.of(headers));
    return http.postJson("/v1/chat/completions", body, all.toArray(String[]::new));
  }

  static String cacheHeader(HttpResponse<?> response) {
    return response.headers().firstValue("x-atrium-cache").orElse("(none)");
  }

  /** The answer's text of a {@code chat.completion}. */
  static String text(HttpResponse<String> response) {
    return TestHttp.json(response).path("choices").path(0).path("message").path("content").asText();
  }

  static long rows(String tenant) {
    return ((Number) UsageTest.query(db, "select count(*) as n from response_cache where tenant_id = ?", tenant)
        .get(0).get("n")).longValue();
  }

  /** Waits until the cache holds {@code n} answers of {@code tenant} (its writes are behind the call). */
  static void awaitRows(String tenant, long n) {
    await(Duration.ofSeconds(10), () -> assertThat(rows(tenant)).isEqualTo(n));
  }

  /**
   * Waits until the table holds the answer to the chat completion {@code body} of
   * {@code tenant} (its writes are behind the call): its row, found by the key the gateway
   * derives from the body's messages and options.
   */
  static void awaitStored(String tenant, String body) {
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
  static Object storedAt(String tenant) {
    return UsageTest.query(db, "select created_at from response_cache where tenant_id = ?", tenant).get(0).get("created_at");
  }

  static Map<String, Object> usage(String requestId) {
    List<Map<String, Object>> found = new ArrayList<>();
    await(Duration.ofSeconds(10), () -> {
      found.clear();
      found.addAll(UsageTest.rowsIn(db, "request_id = ?", requestId));
      assertThat(found).hasSize(1);
    });
    return found.get(0);
  }

  /** The JSON of each {@code data:} line of an OpenAI stream, {@code [DONE]} as a text node. */
  static List<JsonNode> chunks(String body) {
    List<JsonNode> chunks = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("data: ")) {
        String data = line.substring(6);
        try {
          chunks.add(data.equals("[DONE]") ? Json.MAPPER.getNodeFactory().textNode(data) : Json.MAPPER.readTree(data));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    return chunks;
  }

  static String streamedText(List<JsonNode> chunks) {
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.path("choices").path(0).path("delta").path("content").asText("")));
    return text.toString();
  }

  @Test
  void anAnswerStoredThroughOneNodeIsAHitOnTheOther() {
    String question = unique();
    var miss = completion(viaA, PAID, false, question);
    assertThat(miss.statusCode()).as(miss.body()).isEqualTo(200);
    assertThat(cacheHeader(miss)).isEqualTo("miss");
    awaitStored("cached", body(false, question));

    var hit = completion(viaB, PAID, false, question);
    assertThat(hit.statusCode()).as(hit.body()).isEqualTo(200);
    assertThat(cacheHeader(hit)).isEqualTo("hit");
    assertThat(text(hit)).isEqualTo(text(miss)).isEqualTo("t0 t1 t2 t3 t4 t5 t6 t7 ");
    assertThat(TestHttp.json(hit).path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(TestHttp.json(hit).path("usage")).isEqualTo(TestHttp.json(miss).path("usage"));
    assertThat(mock.stats().requests()).isEqualTo(1);
  }

  @Test
  void aStreamedHitReplaysInOpenAisChunkFraming() {
    String question = unique();
    var miss = completion(viaA, PAID, true, question);
    assertThat(miss.statusCode()).as(miss.body()).isEqualTo(200);
    assertThat(cacheHeader(miss)).isEqualTo("miss");
    awaitStored("cached", body(true, question));

    for (TestHttp node : List.of(viaB, viaA)) {
      var hit = completion(node, PAID, true, question);
      assertThat(hit.statusCode()).as(hit.body()).isEqualTo(200);
      assertThat(cacheHeader(hit)).isEqualTo("hit");
      assertThat(hit.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
      List<JsonNode> chunks = chunks(hit.body());
      assertThat(chunks.get(0).path("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunks.get(0).path("choices").path(0).path("delta").path("role").asText()).isEqualTo("assistant");
      assertThat(streamedText(chunks)).isEqualTo(streamedText(chunks(miss.body()))).isEqualTo("t0 t1 t2 t3 t4 t5 t6 t7 ");
      assertThat(chunks).anySatisfy(c -> assertThat(c.path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop"));
      JsonNode usage = chunks.get(chunks.size() - 2).path("usage");
      assertThat(usage.path("completion_tokens").asInt()).isEqualTo(8);
      assertThat(chunks.get(chunks.size() - 1).asText()).isEqualTo("[DONE]");
    }
    assertThat(mock.stats().requests()).isEqualTo(1);
  }

  @Test
  void aStreamedHitReplaysInTheNativeSseFramingAndIsRecordedInTheSession() {
    String question = unique();
    var miss = turn(createSession(), question);
    assertThat(miss.statusCode()).as(miss.body()).isEqualTo(200);
    assertThat(cacheHeader(miss)).isEqualTo("miss");
    awaitStored("cached", body(true, question));

    String session = createSession();
    var hit = turn(session, question);
    assertThat(hit.statusCode()).as(hit.body()).isEqualTo(200);
    assertThat(cacheHeader(hit)).isEqualTo("hit");
    SseEvents events = SseEvents.parse(hit.body());
    assertThat(events.types()).startsWith("message.start", "delta").endsWith("usage", "done").doesNotContain("error");
    assertThat(events.text()).isEqualTo(SseEvents.parse(miss.body()).text()).isEqualTo("t0 t1 t2 t3 t4 t5 t6 t7 ");
    assertThat(events.first("done").json().path("finish_reason").asText()).isEqualTo("stop");
    assertThat(mock.stats().requests()).isEqualTo(1);
    // The session holds the answer it was given, as it would a fresh one.
    var history = viaA.get("/v1/chat/sessions/" + session + "/messages", "Authorization", "Bearer " + PAID);
    assertThat(TestHttp.json(history).path("data").findValuesAsText("content")).contains(question, "t0 t1 t2 t3 t4 t5 t6 t7 ");
  }

  static String createSession() {
    var created = viaA.postJson("/v1/chat/sessions", "{}", "Authorization", "Bearer " + PAID);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return TestHttp.json(created).path("id").asText();
  }

  static HttpResponse<String> turn(String session, String content, String... headers) {
    List<String> all = new ArrayList<>(List.of("Authorization", "Bearer " + PAID));
    all.addAll(List.of(headers));
    return viaA.postJson("/v1/chat/sessions/" + session + "/messages",
        "{\"content\": \"" + content + "\", \"stream\": true}", all.toArray(String[]::new));
  }

  @Test
  void anUpstreamErrorIsNotCached() {
    String question = unique();
    mock.configure(MockLlm.Behaviour.defaults().failing(500, 1));
    var failed = completion(viaA, PAID, false, question);
    assertThat(failed.statusCode()).as(failed.body()).isEqualTo(502);

    // The same node: a stored failure would be in its memory at once.
    var answered = completion(viaA, PAID, false, question);
    assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
    assertThat(cacheHeader(answered)).isEqualTo("miss");
    assertThat(mock.stats().requests()).isEqualTo(2);
    awaitStored("cached", body(false, question));
    assertThat(cacheHeader(completion(viaB, PAID, false, question))).isEqualTo("hit");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void aStreamTheUpstreamBreaksOffIsNotCached() {
    String question = unique();
    mock.configure(MockLlm.Behaviour.defaults().droppingAfter(3));
    var broken = completion(viaA, PAID, true, question);
    assertThat(broken.statusCode()).isEqualTo(200);
    assertThat(broken.body()).contains("\"error\"").doesNotContain("[DONE]");

    mock.configure(MockLlm.Behaviour.defaults());
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("miss");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void aStreamTheClientLeavesIsNotCached() throws Exception {
    String question = unique();
    mock.configure(MockLlm.Behaviour.defaults().withChunks(40).withChunkDelay(Duration.ofMillis(50)));
    var response = viaA.client().send(viaA.request("/v1/chat/completions")
            .header("Authorization", "Bearer " + PAID).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body(true, question))).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(cacheHeader(response)).isEqualTo("miss");
    StringBuilder received = new StringBuilder();
    try (InputStream in = response.body()) {
      byte[] buffer = new byte[256];
      // Three pieces of the answer, then the client leaves.
      while (received.toString().split("\"content\":\"t", -1).length <= 3) {
        int n = in.read(buffer);
        assertThat(n).isPositive();
        received.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    }
    await(Duration.ofSeconds(5), () -> assertThat(mock.stats().streamsCancelled()).isEqualTo(1));

    mock.configure(MockLlm.Behaviour.defaults());
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("miss");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void aTruncatedAnswerIsNotCached() {
    String body = """
        {"model": "mock", "max_tokens": 3, "messages": [{"role": "user", "content": "%s"}]}""".formatted(unique());
    var first = completionBody(viaA, PAID, body);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(TestHttp.json(first).path("choices").path(0).path("finish_reason").asText()).isEqualTo("length");
    assertThat(cacheHeader(first)).isEqualTo("miss");

    // The same node: a stored answer would be in its memory at once.
    var second = completionBody(viaA, PAID, body);
    assertThat(cacheHeader(second)).isEqualTo("miss");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void noCacheSkipsTheReadAndRefreshesTheEntryWhileNoStoreKeepsNothing() {
    String question = unique();
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("miss");
    awaitStored("cached", body(false, question));

    var refreshed = completion(viaA, PAID, false, question, "Cache-Control", "no-cache");
    assertThat(refreshed.statusCode()).as(refreshed.body()).isEqualTo(200);
    assertThat(cacheHeader(refreshed)).isEqualTo("bypass");
    assertThat(mock.stats().requests()).isEqualTo(2);
    assertThat(cacheHeader(completion(viaB, PAID, false, question))).isEqualTo("hit");
    assertThat(mock.stats().requests()).isEqualTo(2);

    String unstored = unique();
    var bypassed = completion(viaA, PAID, true, unstored, "Cache-Control", "no-store");
    assertThat(bypassed.statusCode()).as(bypassed.body()).isEqualTo(200);
    assertThat(cacheHeader(bypassed)).isEqualTo("bypass");
    assertThat(cacheHeader(completion(viaA, PAID, false, unstored))).isEqualTo("miss");
    assertThat(mock.stats().requests()).isEqualTo(4);
  }

  @Test
  void freeTierAndCallersOwnKeyCallsNeitherReadNorWriteTheCache() {
    String question = unique();
    String canary = ByokTest.canary();
    for (int i = 0; i < 2; i++) {
      var free = completion(viaA, FREE, false, question);
      assertThat(free.statusCode()).as(free.body()).isEqualTo(200);
      assertThat(free.headers().firstValue("x-atrium-cache")).isEmpty();
      var byo = completion(viaA, PAID, true, question, "x-openai-key", canary);
      assertThat(byo.statusCode()).as(byo.body()).isEqualTo(200);
      assertThat(byo.headers().firstValue("x-atrium-cache")).isEmpty();
    }
    assertThat(mock.stats().requests()).isEqualTo(4);
    assertThat(mock.authorizations()).containsExactly("", "Bearer " + canary, "", "Bearer " + canary);
    // The same prompt (the same key: tier and provider key are not in it) on the tenant's own
    // key, PAID, on the same node: a miss, so none of the four was stored.
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("miss");
    assertThat(mock.stats().requests()).isEqualTo(5);
  }

  @Test
  void anEntryExpiresWithItsTenantsTtlAndThePruneJobDeletesIt() {
    String question = unique();
    assertThat(cacheHeader(completion(viaA, SHORT, false, question))).isEqualTo("miss");
    awaitRows("short", 1);
    Object stored = storedAt("short");
    // Hits until the TTL (1 s) has passed, then a miss: asked again until it says so.
    await(Duration.ofSeconds(10), () -> assertThat(cacheHeader(completion(viaB, SHORT, false, question))).isEqualTo("miss"));
    assertThat(mock.stats().requests()).isEqualTo(2);

    // The miss stored the answer again (the same row); once that has expired too, the job deletes it.
    await(Duration.ofSeconds(10), () -> assertThat(storedAt("short")).isNotEqualTo(stored));
    await(Duration.ofSeconds(10), () -> assertThat(UsageTest.query(db,
        "select 1 from response_cache where tenant_id = 'short' and expires_at > now()")).isEmpty());
    assertThat(rows("short")).isEqualTo(1);
    var run = new TestHttp(ServerProcess.LOOPBACK, a.adminPort()).send(new TestHttp(ServerProcess.LOOPBACK, a.adminPort())
        .request("/admin/jobs/response-cache-prune/run").header("Authorization", "Bearer " + ADMIN_TOKEN)
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(run.statusCode()).as(run.body()).isBetween(200, 202);
    awaitRows("short", 0);
  }

  @Test
  void aHitIsMeteredWithCacheHitAndCostZero() {
    String question = unique();
    String missId = "req-" + UUID.randomUUID();
    String hitId = "req-" + UUID.randomUUID();
    assertThat(cacheHeader(completion(viaA, PAID, true, question, "x-request-id", missId))).isEqualTo("miss");
    awaitStored("cached", body(true, question));
    assertThat(cacheHeader(completion(viaB, PAID, true, question, "x-request-id", hitId))).isEqualTo("hit");

    Map<String, Object> miss = usage(missId);
    Map<String, Object> hit = usage(hitId);
    assertThat(miss).containsEntry("cache_hit", false).containsEntry("status", "ok");
    assertThat(((Number) miss.get("cost_micro_usd")).longValue()).isEqualTo(Math.round(
        ((Number) miss.get("tokens_in")).intValue() * INPUT + ((Number) miss.get("tokens_out")).intValue() * OUTPUT))
        .isPositive();
    assertThat(hit).containsEntry("cache_hit", true).containsEntry("status", "ok").containsEntry("byo", false)
        .containsEntry("tokens_in", miss.get("tokens_in")).containsEntry("tokens_out", miss.get("tokens_out"))
        .containsEntry("model", "mock");
    assertThat(((Number) hit.get("cost_micro_usd")).longValue()).isZero();
  }

  @Test
  void aHitHoldsAndSettlesNoBudget() {
    String question = unique();
    String first = "req-" + UUID.randomUUID();
    String hit = "req-" + UUID.randomUUID();
    String other = "req-" + UUID.randomUUID();
    assertThat(cacheHeader(completion(viaA, BUDGETED, false, question, "x-request-id", first))).isEqualTo("miss");
    awaitStored("budgeted", body(false, question));
    assertThat(cacheHeader(completion(viaB, BUDGETED, false, question, "x-request-id", hit))).isEqualTo("hit");
    // A call that goes upstream after the hit, from the same node: its settlement reaches the
    // tenant's Budget after the hit's would have.
    assertThat(cacheHeader(completion(viaB, BUDGETED, false, unique(), "x-request-id", other))).isEqualTo("miss");

    long upstream = tokens(usage(first)) + tokens(usage(other));
    assertThat(usage(hit)).containsEntry("cache_hit", true);
    await(Duration.ofSeconds(10), () -> {
      JsonNode day = tenantDay();
      assertThat(day.path("tokens").path("settled").asLong()).isEqualTo(upstream);
      assertThat(day.path("tokens").path("reserved").asLong()).isZero();
    });
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  static long tokens(Map<String, Object> usageRow) {
    return ((Number) usageRow.get("tokens_in")).longValue() + ((Number) usageRow.get("tokens_out")).longValue();
  }

  /** The budgeted tenant's own scope for today, as the admin API shows it. */
  static JsonNode tenantDay() {
    var view = new TestHttp(ServerProcess.LOOPBACK, a.adminPort()).get("/admin/tenants/budgeted/budgets",
        "Authorization", "Bearer " + ADMIN_TOKEN);
    assertThat(view.statusCode()).as(view.body()).isEqualTo(200);
    for (JsonNode scope : TestHttp.json(view).path("scopes")) {
      if (scope.path("scope").asText().equals("tenant") && scope.path("period").asText().equals("day")) {
        return scope;
      }
    }
    throw new AssertionError("no tenant day scope in " + view.body());
  }

  @Test
  void anotherTenantsIdenticalRequestNeverHits() {
    String question = unique();
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("miss");
    awaitStored("cached", body(false, question));
    var other = completion(viaB, OTHER, false, question);
    assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
    assertThat(cacheHeader(other)).isEqualTo("miss");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void aTenantWithoutTheFeatureGetsNoCacheHeaderAndEveryCallGoesUpstream() {
    String question = unique();
    for (int i = 0; i < 2; i++) {
      var r = completion(viaA, PLAIN, i == 0, question);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-atrium-cache")).isEmpty();
    }
    assertThat(mock.stats().requests()).isEqualTo(2);
    assertThat(rows("plain")).isZero();
  }

  @Test
  void aStreamedToolCallIsCachedAndReplayedWithItsCall() {
    String body = """
        {"model": "mock", "stream": true,
         "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
         "tool_choice": {"type": "function", "function": {"name": "lookup"}},
         "messages": [{"role": "user", "content": "%s"}]}""".formatted(unique());
    var miss = completionBody(viaA, PAID, body);
    assertThat(cacheHeader(miss)).isEqualTo("miss");
    awaitStored("cached", body);

    var hit = completionBody(viaB, PAID, body);
    assertThat(cacheHeader(hit)).isEqualTo("hit");
    List<JsonNode> chunks = chunks(hit.body());
    JsonNode call = chunks.stream().map(c -> c.path("choices").path(0).path("delta").path("tool_calls").path(0))
        .filter(c -> c.has("id")).findFirst().orElseThrow();
    assertThat(call.path("function").path("name").asText()).isEqualTo("lookup");
    assertThat(call.path("id").asText()).isEqualTo("call_mock_1");
    assertThat(call.path("function").path("arguments").asText()).isEqualTo("{\"q\": \"t0 t1 t2 t3 t4 t5 t6 t7\"}");
    assertThat(chunks).anySatisfy(c -> assertThat(c.path("choices").path(0).path("finish_reason").asText())
        .isEqualTo("tool_calls"));
    assertThat(mock.stats().requests()).isEqualTo(1);
  }

  @Test
  void aPromptCachingHintReachesNoOpenAiUpstreamAndLeavesTheKeyAlone() {
    String question = unique();
    var hinted = completionBody(viaA, PAID, """
        {"model": "mock", "messages": [{"role": "user", "content": "%s", "cache_control": {"type": "ephemeral"}}]}"""
        .formatted(question));
    assertThat(hinted.statusCode()).as(hinted.body()).isEqualTo(200);
    assertThat(mock.stats().lastRequestBody()).contains(question).doesNotContain("cache_control");
    awaitStored("cached", body(false, question));
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("hit");

    var malformed = completionBody(viaA, PAID, """
        {"model": "mock", "messages": [{"role": "user", "content": "x", "cache_control": "yes"}]}""");
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(malformed).path("error").path("param").asText()).isEqualTo("messages[0].cache_control");
    assertThat(mock.stats().requests()).isEqualTo(1);
  }
}
