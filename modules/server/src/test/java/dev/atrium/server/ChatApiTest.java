package dev.atrium.server;

import static dev.atrium.server.ChatTestTenants.ALPHA_KEY;
import static dev.atrium.server.ChatTestTenants.BETA_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.sessions.ChatSession;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native chat API on a real node, with a mock OpenAI upstream over real HTTP. */
class ChatApiTest {
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() {
    mock = MockLlm.startLocal();
    node = TestNode.start("chat", TestDatabase.fresh("chat_api"), ChatTestTenants.write(tenantsDir, mock.baseUrl()),
        Map.of("atrium.sessions.heartbeat-interval", "200ms",
            "atrium.sessions.turn-lease", "2s",
            "atrium.sessions.lease-renewal-interval", "500ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  static String auth(String key) {
    return "Bearer " + key;
  }

  /** The ids of a list's rows (each row's owner has an id too). */
  static java.util.List<String> ids(JsonNode rows) {
    java.util.List<String> ids = new java.util.ArrayList<>();
    rows.forEach(row -> ids.add(row.path("id").asText()));
    return ids;
  }

  static String createSession(String key, String body) {
    var created = http.postJson("/v1/chat/sessions", body, "Authorization", auth(key));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(created.headers().firstValue("location")).hasValueSatisfying(l -> assertThat(l).startsWith("/v1/chat/sessions/s_"));
    return TestHttp.json(created).path("id").asText();
  }

  static HttpResponse<String> send(String key, String sessionId, String json, String... headers) {
    String[] all = new String[headers.length + 2];
    all[0] = "Authorization";
    all[1] = auth(key);
    System.arraycopy(headers, 0, all, 2, headers.length);
    return http.postJson("/v1/chat/sessions/" + sessionId + "/messages", json, all);
  }

  static JsonNode messages(String key, String sessionId) {
    var r = http.get("/v1/chat/sessions/" + sessionId + "/messages", "Authorization", auth(key));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return TestHttp.json(r).path("data");
  }

  static String expectedText(int chunks) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < chunks; i++) {
      text.append('t').append(i).append(' ');
    }
    return text.toString();
  }

  static void await(Duration limit, Runnable assertion) {
    dev.atrium.testkit.Eventually.await(limit, assertion);
  }

  @Test
  void aStreamedTurnSendsStartDeltasUsageAndDoneAndRecordsTheAnswer() {
    String sessionId = createSession(ALPHA_KEY, "{\"title\": \"first\", \"system_prompt\": \"Be brief.\"}");
    var r = send(ALPHA_KEY, sessionId, "{\"content\": \"Hello there\"}");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    SseEvents events = SseEvents.parse(r.body());
    assertThat(events.types()).startsWith("message.start").endsWith("usage", "done").doesNotContain("error");
    JsonNode start = events.first("message.start").json();
    assertThat(start.path("session_id").asText()).isEqualTo(sessionId);
    assertThat(start.path("model").asText()).isEqualTo("mock");
    assertThat(events.text()).isEqualTo(expectedText(8));
    JsonNode usage = events.first("usage").json();
    assertThat(usage.path("tokens_out").asInt()).isEqualTo(8);
    assertThat(usage.path("tokens_in").asInt()).isPositive();
    assertThat(events.first("done").json().path("message_id").asText()).isEqualTo(start.path("assistant_message_id").asText());

    // "done" means persisted: the answer is there at once.
    JsonNode stored = messages(ALPHA_KEY, sessionId);
    assertThat(stored.findValuesAsText("role")).containsExactly("user", "assistant");
    assertThat(stored.get(1).path("content").asText()).isEqualTo(expectedText(8));
    assertThat(stored.get(1).path("interrupted").asBoolean()).isFalse();
    assertThat(stored.get(1).path("id").asText()).isEqualTo(start.path("assistant_message_id").asText());
    // The upstream saw the system prompt and the user's message.
    assertThat(mock.stats().lastRequestBody()).contains("Be brief.", "Hello there", "\"include_usage\":true");
  }

  @Test
  void theHistoryIsTheNextTurnsContext() {
    String sessionId = createSession(ALPHA_KEY, "{}");
    assertThat(send(ALPHA_KEY, sessionId, "{\"content\": \"My name is Ada.\", \"stream\": false}").statusCode()).isEqualTo(200);
    assertThat(send(ALPHA_KEY, sessionId, "{\"content\": \"What is my name?\", \"stream\": false}").statusCode()).isEqualTo(200);
    String upstream = mock.stats().lastRequestBody();
    assertThat(upstream).contains("My name is Ada.", expectedText(8).strip(), "What is my name?");
  }

  @Test
  void streamFalseReturnsTheWholeMessage() {
    String sessionId = createSession(ALPHA_KEY, "{}");
    var r = send(ALPHA_KEY, sessionId, "{\"content\": \"Hi\", \"stream\": false}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = TestHttp.json(r);
    assertThat(body.path("message").path("content").asText()).isEqualTo(expectedText(8));
    assertThat(body.path("message").path("role").asText()).isEqualTo("assistant");
    assertThat(body.path("usage").path("tokens_out").asInt()).isEqualTo(8);
    assertThat(body.path("finish_reason").asText()).isEqualTo("stop");
  }

  @Test
  void badInputGetsClearErrors() {
    String sessionId = createSession(ALPHA_KEY, "{}");
    var empty = send(ALPHA_KEY, sessionId, "{\"content\": \"  \"}");
    assertThat(empty.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(empty).path("code").asText()).isEqualTo("empty_content");

    var tooLong = send(ALPHA_KEY, sessionId, "{\"content\": \"" + "x".repeat(2001) + "\"}");
    assertThat(tooLong.statusCode()).isEqualTo(413);
    assertThat(TestHttp.json(tooLong).path("detail").asText()).contains("2000");

    var unknownModel = send(ALPHA_KEY, sessionId, "{\"content\": \"hi\", \"model\": \"gpt-9\"}");
    assertThat(unknownModel.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(unknownModel).path("allowed_models").toString()).contains("mock", "local");

    assertThat(send(ALPHA_KEY, "s_doesnotexist", "{\"content\": \"hi\"}").statusCode()).isEqualTo(404);
    assertThat(send(ALPHA_KEY, "bad:id", "{\"content\": \"hi\"}").statusCode()).isEqualTo(404);
    assertThat(send(ALPHA_KEY, sessionId, "{\"content\": \"hi\"}", "Idempotency-Key", "has space").statusCode())
        .isEqualTo(400);
    var badCreate = http.postJson("/v1/chat/sessions", "{\"model\": \"nope\"}", "Authorization", auth(ALPHA_KEY));
    assertThat(badCreate.statusCode()).isEqualTo(400);
    // Nothing reached the upstream.
    assertThat(mock.stats().requests()).isZero();
    // Nothing was recorded either.
    assertThat(messages(ALPHA_KEY, sessionId)).isEmpty();
  }

  @Test
  void anotherTenantOrKeyGets404Everywhere() {
    String sessionId = createSession(ALPHA_KEY, "{\"title\": \"private\"}");
    send(ALPHA_KEY, sessionId, "{\"content\": \"secret\", \"stream\": false}");
    String path = "/v1/chat/sessions/" + sessionId;
    for (String key : new String[] {BETA_KEY, ALPHA_KEY + "-second"}) {
      assertThat(http.get(path, "Authorization", auth(key)).statusCode()).isEqualTo(404);
      assertThat(http.get(path + "/messages", "Authorization", auth(key)).statusCode()).isEqualTo(404);
      assertThat(send(key, sessionId, "{\"content\": \"let me in\"}").statusCode()).isEqualTo(404);
      assertThat(http.send(http.request(path).DELETE().header("Authorization", auth(key))).statusCode()).isEqualTo(404);
    }
    var adminOther = node.adminHttp().get("/admin/tenants/beta/sessions/" + sessionId, "Authorization", "Bearer " + node.adminToken);
    assertThat(adminOther.statusCode()).isEqualTo(404);
    // Still intact for its owner.
    assertThat(messages(ALPHA_KEY, sessionId)).hasSize(2);
  }

  @Test
  void aClientThatLeavesCancelsTheUpstreamAndThePartialAnswerIsKept() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(200).withChunkDelay(Duration.ofMillis(50)));
    String sessionId = createSession(ALPHA_KEY, "{}");
    var response = http.client().send(http.request("/v1/chat/sessions/" + sessionId + "/messages")
            .header("Authorization", auth(ALPHA_KEY)).header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"content\": \"long story\"}")).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    StringBuilder received = new StringBuilder();
    try (InputStream body = response.body()) {
      byte[] buffer = new byte[256];
      while (SseEvents.parse(received.toString()).ofType("delta").size() < 5) {
        int n = body.read(buffer);
        assertThat(n).isPositive();
        received.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    }
    long left = System.nanoTime();
    await(Duration.ofSeconds(5), () -> assertThat(mock.stats().streamsCancelled()).isEqualTo(1));
    long cancelMillis = (System.nanoTime() - left) / 1_000_000;
    assertThat(cancelMillis).as("upstream cancelled %d ms after the client left", cancelMillis).isLessThan(1000);
    assertThat(mock.stats().streamsCompleted()).isZero();

    await(Duration.ofSeconds(5), () -> {
      JsonNode stored = messages(ALPHA_KEY, sessionId);
      assertThat(stored).hasSize(2);
      assertThat(stored.get(1).path("interrupted").asBoolean()).isTrue();
      assertThat(stored.get(1).path("content").asText()).startsWith("t0 t1 t2 t3 t4 ");
    });
    assertThat(mock.stats().openStreams()).isZero();
  }

  @Test
  void oneTurnAtATimeAndALostLeaseExpires() {
    String sessionId = createSession(ALPHA_KEY, "{}");
    // A node takes the turn's lease and dies: nobody streams, nobody renews.
    var entity = ClusterSharding.get(node.testKit.system())
        .entityRefFor(ChatSession.ENTITY_KEY, ChatSession.entityId("alpha", sessionId));
    entity.<dev.atrium.core.entity.Reply<ChatSession.TurnReply>>ask(
            r -> new ChatSession.StartTurn(dev.atrium.core.tenant.Caller.of("alpha", dev.atrium.core.tenant.Owner.key("k_alpha")), "lost turn", null, null, r),
            Duration.ofSeconds(5))
        .toCompletableFuture().join();

    var busy = send(ALPHA_KEY, sessionId, "{\"content\": \"me next\"}");
    assertThat(busy.statusCode()).isEqualTo(409);
    assertThat(TestHttp.json(busy).path("code").asText()).isEqualTo("turn_in_progress");
    assertThat(busy.headers().firstValue("retry-after")).hasValueSatisfying(v -> assertThat(Integer.parseInt(v)).isBetween(1, 5));

    // The 2 s lease runs out; the lost turn is recorded as interrupted and the session is free.
    await(Duration.ofSeconds(10), () -> assertThat(send(ALPHA_KEY, sessionId, "{\"content\": \"me next\", \"stream\": false}")
        .statusCode()).isEqualTo(200));
    JsonNode stored = messages(ALPHA_KEY, sessionId);
    assertThat(stored.findValuesAsText("content")).containsExactly("lost turn", "", "me next", expectedText(8));
    assertThat(stored.get(1).path("interrupted").asBoolean()).isTrue();
  }

  @Test
  void aLongStreamKeepsItsLeaseAlive() {
    // 3 s of streaming with a 2 s lease: renewals keep the turn, and a second send stays busy.
    mock.configure(MockLlm.Behaviour.defaults().withChunks(30).withChunkDelay(Duration.ofMillis(100)));
    String sessionId = createSession(ALPHA_KEY, "{}");
    var streaming = http.client().sendAsync(http.request("/v1/chat/sessions/" + sessionId + "/messages")
            .header("Authorization", auth(ALPHA_KEY)).header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"content\": \"slow\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    await(Duration.ofSeconds(5), () -> assertThat(mock.stats().tokensGenerated()).isGreaterThanOrEqualTo(25));
    assertThat(send(ALPHA_KEY, sessionId, "{\"content\": \"now?\"}").statusCode()).isEqualTo(409);
    SseEvents events = SseEvents.parse(streaming.join().body());
    assertThat(events.types()).contains("done");
    assertThat(events.text()).isEqualTo(expectedText(30));
  }

  @Test
  void anIdempotencyKeyMakesAResendReturnTheSameTurn() {
    String sessionId = createSession(ALPHA_KEY, "{}");
    var first = send(ALPHA_KEY, sessionId, "{\"content\": \"once\", \"stream\": false}", "Idempotency-Key", "turn-1");
    var again = send(ALPHA_KEY, sessionId, "{\"content\": \"once\", \"stream\": false}", "Idempotency-Key", "turn-1");
    var streamed = send(ALPHA_KEY, sessionId, "{\"content\": \"once\"}", "Idempotency-Key", "turn-1");

    assertThat(TestHttp.json(again).path("message").path("id").asText())
        .isEqualTo(TestHttp.json(first).path("message").path("id").asText());
    assertThat(TestHttp.json(again).path("replayed").asBoolean()).isTrue();
    SseEvents replay = SseEvents.parse(streamed.body());
    assertThat(replay.text()).isEqualTo(expectedText(8));
    assertThat(replay.first("done").json().path("message_id").asText())
        .isEqualTo(TestHttp.json(first).path("message").path("id").asText());
    assertThat(mock.stats().requests()).isEqualTo(1);
    assertThat(messages(ALPHA_KEY, sessionId)).hasSize(2);
  }

  @Test
  void aProviderFailureAfterTheStartIsAnErrorEventAndThePartialAnswerIsKept() {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(10).droppingAfter(3));
    String sessionId = createSession(ALPHA_KEY, "{}");
    SseEvents events = SseEvents.parse(send(ALPHA_KEY, sessionId, "{\"content\": \"fragile\"}").body());
    assertThat(events.types()).startsWith("message.start").endsWith("error").doesNotContain("done");
    assertThat(events.first("error").json().path("code").asText()).startsWith("upstream");
    assertThat(events.text()).isEqualTo("t0 t1 t2 ");
    await(Duration.ofSeconds(5), () -> {
      JsonNode stored = messages(ALPHA_KEY, sessionId);
      assertThat(stored.get(1).path("content").asText()).isEqualTo("t0 t1 t2 ");
      assertThat(stored.get(1).path("interrupted").asBoolean()).isTrue();
    });
  }

  @Test
  void infrastructureFailuresAreRetriedAndBusinessFailuresAreNot() {
    mock.configure(MockLlm.Behaviour.defaults().failing(503, 1));
    String sessionId = createSession(ALPHA_KEY, "{}");
    SseEvents retried = SseEvents.parse(send(ALPHA_KEY, sessionId, "{\"content\": \"retry me\"}").body());
    assertThat(retried.types()).contains("done");
    assertThat(retried.text()).isEqualTo(expectedText(8));
    assertThat(mock.stats().requests()).isEqualTo(2);

    mock.configure(MockLlm.Behaviour.defaults().failing(400, Integer.MAX_VALUE));
    mock.resetStats();
    var rejected = send(ALPHA_KEY, sessionId, "{\"content\": \"bad request upstream\", \"stream\": false}");
    assertThat(rejected.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(rejected).path("code").asText()).isEqualTo("upstream_rejected");
    assertThat(mock.stats().requests()).isEqualTo(1);
  }

  @Test
  void sessionsAreListedNewestFirstWithPagination() {
    String a = createSession(ALPHA_KEY + "-second", "{\"title\": \"a\"}");
    String b = createSession(ALPHA_KEY + "-second", "{\"title\": \"b\"}");
    String c = createSession(ALPHA_KEY + "-second", "{\"title\": \"c\"}");
    createSession(BETA_KEY, "{\"title\": \"not yours\"}");
    await(Duration.ofSeconds(10), () -> {
      var page = TestHttp.json(http.get("/v1/chat/sessions?limit=2", "Authorization", auth(ALPHA_KEY + "-second")));
      assertThat(ids(page.path("data"))).containsExactly(c, b);
      String cursor = page.path("next_cursor").asText();
      var next = TestHttp.json(http.get("/v1/chat/sessions?limit=2&cursor=" + cursor, "Authorization", auth(ALPHA_KEY + "-second")));
      assertThat(ids(next.path("data"))).containsExactly(a);
      assertThat(next.path("next_cursor").isNull()).isTrue();
    });
    var badCursor = http.get("/v1/chat/sessions?cursor=not-a-cursor", "Authorization", auth(ALPHA_KEY));
    assertThat(badCursor.statusCode()).isEqualTo(400);
  }

  @Test
  void deletingASessionStopsServingIt() {
    String sessionId = createSession(ALPHA_KEY, "{}");
    var deleted = http.send(http.request("/v1/chat/sessions/" + sessionId).DELETE().header("Authorization", auth(ALPHA_KEY)));
    assertThat(deleted.statusCode()).isEqualTo(204);
    assertThat(http.get("/v1/chat/sessions/" + sessionId + "/messages", "Authorization", auth(ALPHA_KEY)).statusCode()).isEqualTo(404);
    assertThat(send(ALPHA_KEY, sessionId, "{\"content\": \"hello?\"}").statusCode()).isEqualTo(404);
  }

  @Test
  void adminsInspectSessionsAcrossKeys() {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(40).withChunkDelay(Duration.ofMillis(50)));
    String sessionId = createSession(ALPHA_KEY, "{\"title\": \"inspect me\"}");
    TestHttp admin = node.adminHttp();
    String token = "Bearer " + node.adminToken;
    var streaming = http.client().sendAsync(http.request("/v1/chat/sessions/" + sessionId + "/messages")
            .header("Authorization", auth(ALPHA_KEY)).header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"content\": \"watch this\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    await(Duration.ofSeconds(5), () -> {
      JsonNode view = TestHttp.json(admin.get("/admin/tenants/alpha/sessions/" + sessionId, "Authorization", token));
      assertThat(view.path("in_flight_turn").path("turn_id").asText()).isNotBlank();
      assertThat(view.path("owner").path("kind").asText()).isEqualTo("key");
      assertThat(view.path("owner").path("id").asText()).isEqualTo("k_alpha");
    });
    streaming.join();

    JsonNode view = TestHttp.json(admin.get("/admin/tenants/alpha/sessions/" + sessionId, "Authorization", token));
    assertThat(view.path("message_count").asInt()).isEqualTo(2);
    assertThat(view.path("tokens_out").asLong()).isEqualTo(40);
    assertThat(view.has("in_flight_turn")).isFalse();
    JsonNode messages = TestHttp.json(admin.get("/admin/tenants/alpha/sessions/" + sessionId + "/messages", "Authorization", token));
    assertThat(messages.path("data").findValuesAsText("content")).containsExactly("watch this", expectedText(40));

    await(Duration.ofSeconds(10), () -> {
      JsonNode list = TestHttp.json(admin.get("/admin/tenants/alpha/sessions?key_id=k_alpha&active_since=2020-01-01T00:00:00Z",
          "Authorization", token));
      assertThat(list.path("data").findValuesAsText("id")).contains(sessionId);
      assertThat(list.path("data").findValues("owner")).allSatisfy(owner ->
          assertThat(owner.path("kind").asText() + ":" + owner.path("id").asText()).isEqualTo("key:k_alpha"));
      assertThat(list.path("data").findValues("owner")).isNotEmpty();
    });
    assertThat(admin.get("/admin/tenants/alpha/sessions", "Authorization", "Bearer nope").statusCode()).isEqualTo(401);
    assertThat(admin.get("/admin/tenants/nope/sessions", "Authorization", token).statusCode()).isEqualTo(404);
    assertThat(admin.get("/admin/tenants/alpha/sessions?active_since=yesterday", "Authorization", token).statusCode())
        .isEqualTo(400);
  }
}
