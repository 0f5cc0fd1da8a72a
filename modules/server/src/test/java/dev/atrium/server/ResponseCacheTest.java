package dev.atrium.server;

import static dev.atrium.server.CacheCluster.ADMIN_TOKEN;
import static dev.atrium.server.CacheCluster.BUDGETED;
import static dev.atrium.server.CacheCluster.FREE;
import static dev.atrium.server.CacheCluster.INPUT;
import static dev.atrium.server.CacheCluster.OTHER;
import static dev.atrium.server.CacheCluster.OUTPUT;
import static dev.atrium.server.CacheCluster.PAID;
import static dev.atrium.server.CacheCluster.PLAIN;
import static dev.atrium.server.CacheCluster.SHORT;
import static dev.atrium.server.ChatApiTest.await;
import static dev.atrium.server.CompletionCalls.body;
import static dev.atrium.server.CompletionCalls.cacheHeader;
import static dev.atrium.server.CompletionCalls.chunks;
import static dev.atrium.server.CompletionCalls.completion;
import static dev.atrium.server.CompletionCalls.completionBody;
import static dev.atrium.server.CompletionCalls.streamedText;
import static dev.atrium.server.CompletionCalls.text;
import static dev.atrium.server.CompletionCalls.tokens;
import static dev.atrium.server.CompletionCalls.unique;
import static org.assertj.core.api.Assertions.assertThat;


import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
  @TempDir static Path tenantsDir;
  @TempDir static Path configDir;
  static MockLlm mock;
  static CacheCluster cluster;
  static DatabaseSettings db;
  static TestHttp viaA;
  static TestHttp viaB;

  @BeforeAll
  static void start() throws IOException {
    mock = MockLlm.startLocal();
    cluster = CacheCluster.start(mock, tenantsDir, configDir);
    db = cluster.db();
    viaA = cluster.viaA();
    viaB = cluster.viaB();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    mock.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  @Test
  void anAnswerStoredThroughOneNodeIsAHitOnTheOther() {
    String question = unique();
    var miss = completion(viaA, PAID, false, question);
    assertThat(miss.statusCode()).as(miss.body()).isEqualTo(200);
    assertThat(cacheHeader(miss)).isEqualTo("miss");
    cluster.awaitStored("cached", body(false, question));

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
    cluster.awaitStored("cached", body(true, question));

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
    cluster.awaitStored("cached", body(true, question));

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
    cluster.awaitStored("cached", body(false, question));
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
    cluster.awaitStored("cached", body(false, question));

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
    cluster.awaitRows("short", 1);
    Object stored = cluster.storedAt("short");
    // Hits until the TTL (1 s) has passed, then a miss: asked again until it says so.
    await(Duration.ofSeconds(10), () -> assertThat(cacheHeader(completion(viaB, SHORT, false, question))).isEqualTo("miss"));
    assertThat(mock.stats().requests()).isEqualTo(2);

    // The miss stored the answer again (the same row); once that has expired too, the job deletes it.
    await(Duration.ofSeconds(10), () -> assertThat(cluster.storedAt("short")).isNotEqualTo(stored));
    await(Duration.ofSeconds(10), () -> assertThat(UsageTest.query(db,
        "select 1 from response_cache where tenant_id = 'short' and expires_at > now()")).isEmpty());
    assertThat(cluster.rows("short")).isEqualTo(1);
    var run = cluster.adminOfA().send(cluster.adminOfA()
        .request("/admin/jobs/response-cache-prune/run").header("Authorization", "Bearer " + ADMIN_TOKEN)
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(run.statusCode()).as(run.body()).isBetween(200, 202);
    cluster.awaitRows("short", 0);
  }

  @Test
  void aHitIsMeteredWithCacheHitAndCostZero() {
    String question = unique();
    String missId = "req-" + UUID.randomUUID();
    String hitId = "req-" + UUID.randomUUID();
    assertThat(cacheHeader(completion(viaA, PAID, true, question, "x-request-id", missId))).isEqualTo("miss");
    cluster.awaitStored("cached", body(true, question));
    assertThat(cacheHeader(completion(viaB, PAID, true, question, "x-request-id", hitId))).isEqualTo("hit");

    Map<String, Object> miss = cluster.usage(missId);
    Map<String, Object> hit = cluster.usage(hitId);
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
    cluster.awaitStored("budgeted", body(false, question));
    assertThat(cacheHeader(completion(viaB, BUDGETED, false, question, "x-request-id", hit))).isEqualTo("hit");
    // A call that goes upstream after the hit, from the same node: its settlement reaches the
    // tenant's Budget after the hit's would have.
    assertThat(cacheHeader(completion(viaB, BUDGETED, false, unique(), "x-request-id", other))).isEqualTo("miss");

    long upstream = tokens(cluster.usage(first)) + tokens(cluster.usage(other));
    assertThat(cluster.usage(hit)).containsEntry("cache_hit", true);
    await(Duration.ofSeconds(10), () -> {
      JsonNode day = cluster.tenantDay();
      assertThat(day.path("tokens").path("settled").asLong()).isEqualTo(upstream);
      assertThat(day.path("tokens").path("reserved").asLong()).isZero();
    });
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void anotherTenantsIdenticalRequestNeverHits() {
    String question = unique();
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("miss");
    cluster.awaitStored("cached", body(false, question));
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
    assertThat(cluster.rows("plain")).isZero();
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
    cluster.awaitStored("cached", body);

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
    cluster.awaitStored("cached", body(false, question));
    assertThat(cacheHeader(completion(viaA, PAID, false, question))).isEqualTo("hit");

    var malformed = completionBody(viaA, PAID, """
        {"model": "mock", "messages": [{"role": "user", "content": "x", "cache_control": "yes"}]}""");
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(malformed).path("error").path("param").asText()).isEqualTo("messages[0].cache_control");
    assertThat(mock.stats().requests()).isEqualTo(1);
  }
}
