package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guardrails on a real node with the mock upstream: a blocked input is a 400
 * {@code content_blocked} naming the rule on every door and reaches no provider; redacted
 * input reaches the provider redacted; the answer is redacted across chunk boundaries, and
 * a blocked answer ends the stream with the door's error event; every decision is in the
 * usage row and in /metrics, and the matched text is in no body and no log line; the
 * prompt-length overrides per route class and tier answer as the limit always has; a tenant
 * without guardrails is untouched.
 */
class GuardrailsTest {
  static final String KEY = "guard-key-" + UUID.randomUUID();
  static final String FREE_KEY = "guard-free-" + UUID.randomUUID();
  static final String PLAIN_KEY = "plain-key-" + UUID.randomUUID();
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;
  static CapturedLogs logs;

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    String models = """
        "models": {"default_model": "mock",
                   "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                   "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}}},
        "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000},
                                    "free": {"capacity": 100000, "refill_per_second": 100000}}},
        "stream_slots": {"per_client": 50, "per_tenant": 100}""".formatted(mock.baseUrl());
    Files.writeString(tenantsDir.resolve("guarded.json"), """
        {"id": "guarded", "display_name": "Guarded",
         "api_keys": [{"id": "k_guard", "sha256": "%s", "tier": "PAID"},
                      {"id": "k_free", "sha256": "%s", "tier": "FREE"}],
         %s,
         "limits": {"max_prompt_chars": 2000},
         "guardrails": {
           "prompt_chars": [{"route_class": "completions", "tier": "PAID", "max": 120},
                            {"route_class": "search", "max": 50},
                            {"tier": "FREE", "max": 30}],
           "blocklists": [{"code": "weapons", "terms": ["nerve agent", "sarin"], "patterns": ["detonat\\\\w*"]},
                          {"code": "secrets", "terms": ["project zebra"], "apply_to": ["output"]},
                          {"code": "codes", "terms": ["launch codes"], "apply_to": ["input"]}],
           "pii": {"input": true, "output": true}}}
        """.formatted(ApiKeys.sha256(KEY), ApiKeys.sha256(FREE_KEY), models));
    Files.writeString(tenantsDir.resolve("plain.json"), """
        {"id": "plain", "display_name": "Plain",
         "api_keys": [{"id": "k_plain", "sha256": "%s", "tier": "PAID"}],
         %s}
        """.formatted(ApiKeys.sha256(PLAIN_KEY), models));
    db = TestDatabase.fresh("guardrails");
    logs = CapturedLogs.capture();
    node = TestNode.start("guardrails", db, TenantRegistry.load(tenantsDir, false),
        Map.of("atrium.usage.flush-interval", "50ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
    logs.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  static String[] headers(String key, String requestId, String... more) {
    String[] all = new String[4 + more.length];
    all[0] = "Authorization";
    all[1] = "Bearer " + key;
    all[2] = "x-request-id";
    all[3] = requestId;
    System.arraycopy(more, 0, all, 4, more.length);
    return all;
  }

  static String session(String key) {
    var created = http.postJson("/v1/chat/sessions", "{}", "Authorization", "Bearer " + key);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return TestHttp.json(created).path("id").asText();
  }

  static HttpResponse<String> turn(String key, String requestId, String content, boolean stream) {
    return http.postJson("/v1/chat/sessions/" + session(key) + "/messages",
        "{\"content\": \"" + content + "\", \"stream\": " + stream + "}", headers(key, requestId));
  }

  static HttpResponse<String> completion(String key, String requestId, String content, boolean stream) {
    return http.postJson("/v1/chat/completions", """
        {"model": "mock", "stream": %s, "messages": [{"role": "user", "content": "%s"}]}""".formatted(stream, content),
        headers(key, requestId));
  }

  /** The guardrails column of the one usage row of {@code requestId}. */
  static List<String> decisions(String requestId) {
    Map<String, Object> row = UsageTest.row(db, "request_id = ?", requestId);
    return decisions(row);
  }

  static List<String> decisions(Map<String, Object> row) {
    try {
      return List.of((String[]) ((Array) row.get("guardrails")).getArray());
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static String id() {
    return "req-" + UUID.randomUUID();
  }

  @Test
  void aBlockedInputIsA400NamingTheRuleOnEveryDoorAndReachesNoProvider() {
    String chatStream = id();
    var r = turn(KEY, chatStream, "How is sarin made?", true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    JsonNode problem = TestHttp.json(r);
    assertThat(problem.path("code").asText()).isEqualTo("content_blocked");
    assertThat(problem.path("rule").asText()).isEqualTo("weapons");

    String chatWhole = id();
    String sessionId = session(KEY);
    r = http.postJson("/v1/chat/sessions/" + sessionId + "/messages",
        "{\"content\": \"the nerve agent\", \"stream\": false}", headers(KEY, chatWhole));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(TestHttp.json(r).path("rule").asText()).isEqualTo("weapons");
    // Refused before the session stored it: a stored blocked message would block every later turn.
    var stored = http.get("/v1/chat/sessions/" + sessionId + "/messages", "Authorization", "Bearer " + KEY);
    assertThat(TestHttp.json(stored).path("data")).isEmpty();

    String openAiStream = id();
    r = completion(KEY, openAiStream, "it DETONATES at noon", true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    JsonNode error = TestHttp.json(r).path("error");
    assertThat(error.path("code").asText()).isEqualTo("content_blocked");
    assertThat(error.path("message").asText()).contains("'weapons'");

    String openAiWhole = id();
    r = completion(KEY, openAiWhole, "sarin", false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(TestHttp.json(r).path("error").path("code").asText()).isEqualTo("content_blocked");

    String search = id();
    r = http.postJson("/v1/search", "{\"query\": \"sarin recipe\"}", headers(KEY, search));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("content_blocked");
    assertThat(TestHttp.json(r).path("rule").asText()).isEqualTo("weapons");
    assertThat(r.body().toLowerCase(Locale.ROOT)).doesNotContain("sarin");

    assertThat(mock.stats().requests()).isZero();
    for (String requestId : List.of(chatStream, chatWhole, openAiStream, openAiWhole, search)) {
      Map<String, Object> row = UsageTest.row(db, "request_id = ?", requestId);
      assertThat(decisions(row)).as(requestId).containsExactly("block:input:weapons");
      assertThat(row.get("status")).isEqualTo("failed");
      assertThat(((Number) row.get("tokens_in")).intValue()).isZero();
    }
    await(Duration.ofSeconds(5), () -> assertThat(node.adminHttp().get("/metrics").body()).containsPattern(
        "atrium_guardrail_decisions_total\\{action=\"block\",direction=\"input\",rule=\"weapons\",tenant=\"guarded\"} 5\\.0"));
    assertThat(logs.lines()).noneMatch(l -> l.toLowerCase(Locale.ROOT).contains("sarin")
        || l.toLowerCase(Locale.ROOT).contains("nerve agent") || l.toLowerCase(Locale.ROOT).contains("detonat"));
  }

  @Test
  void aSessionWhoseSystemPromptIsBlockedIsRefusedAtItsCreation() {
    String requestId = id();
    var r = http.postJson("/v1/chat/sessions", "{\"system_prompt\": \"You tell everyone the Launch Codes.\"}",
        headers(KEY, requestId));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("content_blocked");
    assertThat(TestHttp.json(r).path("rule").asText()).isEqualTo("codes");
    assertThat(r.body().toLowerCase(Locale.ROOT)).doesNotContain("launch codes");
    assertThat(decisions(requestId)).containsExactly("block:input:codes");
    var fine = http.postJson("/v1/chat/sessions", "{\"system_prompt\": \"You explain ferry timetables.\"}",
        headers(KEY, id()));
    assertThat(fine.statusCode()).as(fine.body()).isEqualTo(201);
    assertThat(mock.stats().requests()).isZero();
  }

  @Test
  void redactedInputReachesTheProviderRedacted() {
    String requestId = id();
    var r = completion(KEY, requestId, "Mail jane.doe@example.com, card 4111 1111 1111 1111", false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String sent = mock.stats().lastRequestBody();
    assertThat(sent).contains("Mail [redacted:email], card [redacted:card]")
        .doesNotContain("jane.doe@example.com").doesNotContain("4111");
    assertThat(decisions(requestId)).containsExactly("redact:input:email", "redact:input:card");
    assertThat(logs.linesContaining("jane.doe@example.com")).isEmpty();
  }

  @Test
  void theAnswerIsRedactedAcrossChunkBoundariesOnBothDoors() {
    List<String> pieces = List.of("Write to ja", "ne@exam", "ple.com or call +44 20 79", "46 0958 today.");
    String expected = "Write to [redacted:email] or call [redacted:phone] today.";
    mock.configure(MockLlm.Behaviour.defaults().withScript(pieces));

    String nativeId = id();
    var r = turn(KEY, nativeId, "Who do I write to?", true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    SseEvents events = SseEvents.parse(r.body());
    assertThat(events.types()).endsWith("usage", "done").doesNotContain("error");
    assertThat(events.text()).isEqualTo(expected);
    assertThat(r.body()).doesNotContain("exam").doesNotContain("0958");
    assertThat(decisions(nativeId)).containsExactly("redact:output:email", "redact:output:phone");

    String openAiId = id();
    r = completion(KEY, openAiId, "Who do I write to?", true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    StringBuilder text = new StringBuilder();
    SseEvents.parse(r.body()).events().stream().filter(e -> !e.data().equals("[DONE]"))
        .forEach(e -> text.append(e.json().path("choices").path(0).path("delta").path("content").asText("")));
    assertThat(text.toString()).isEqualTo(expected);
    assertThat(r.body()).doesNotContain("exam").doesNotContain("0958");

    String wholeId = id();
    r = completion(KEY, wholeId, "Who do I write to?", false);
    assertThat(TestHttp.json(r).path("choices").path(0).path("message").path("content").asText()).isEqualTo(expected);
    assertThat(decisions(wholeId)).containsExactly("redact:output:email", "redact:output:phone");
    assertThat(node.adminHttp().get("/metrics").body()).contains(
        "atrium_guardrail_decisions_total{action=\"redact\",direction=\"output\",rule=\"email\",tenant=\"guarded\"}");
  }

  @Test
  void aBlockedAnswerEndsTheStreamWithTheDoorsErrorEventAndIsRecordedAsSuch() {
    mock.configure(MockLlm.Behaviour.defaults().withScript(List.of("All about Proj", "ect Zeb", "ra and more.")));

    String nativeId = id();
    var r = turn(KEY, nativeId, "Tell me", true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    SseEvents events = SseEvents.parse(r.body());
    assertThat(events.text()).isEqualTo("All about ");
    JsonNode error = events.first("error").json();
    assertThat(error.path("code").asText()).isEqualTo("content_blocked");
    assertThat(error.path("rule").asText()).isEqualTo("secrets");
    assertThat(r.body().toLowerCase(Locale.ROOT)).doesNotContain("zeb").doesNotContain("proj");
    Map<String, Object> row = UsageTest.row(db, "request_id = ?", nativeId);
    assertThat(row.get("status")).isEqualTo("failed");
    assertThat(decisions(row)).containsExactly("block:output:secrets");

    String openAiId = id();
    r = completion(KEY, openAiId, "Tell me", true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body()).contains("\"code\":\"content_blocked\"").doesNotContain("[DONE]");
    assertThat(r.body().toLowerCase(Locale.ROOT)).doesNotContain("zeb");
    assertThat(decisions(openAiId)).containsExactly("block:output:secrets");

    // Blocked before anything was sent: the door's HTTP error.
    mock.configure(MockLlm.Behaviour.defaults().withScript(List.of("Project Zebra")));
    String whole = id();
    r = completion(KEY, whole, "Tell me", false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
    assertThat(TestHttp.json(r).path("error").path("code").asText()).isEqualTo("content_blocked");
    assertThat(r.body().toLowerCase(Locale.ROOT)).doesNotContain("zebra");
    assertThat(logs.lines()).noneMatch(l -> l.toLowerCase(Locale.ROOT).contains("zebra"));
  }

  @Test
  void promptCharsOverrideTheLimitPerRouteClassAndTierWithTheSameCodes() {
    var r = completion(KEY, id(), "x".repeat(121), false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
    assertThat(TestHttp.json(r).path("error").path("code").asText()).isEqualTo("payload_too_large");
    assertThat(TestHttp.json(r).path("error").path("message").asText()).contains("max_prompt_chars").contains("120");
    assertThat(completion(KEY, id(), "x".repeat(120), false).statusCode()).isEqualTo(200);

    r = completion(FREE_KEY, id(), "x".repeat(31), false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
    assertThat(TestHttp.json(r).path("error").path("message").asText()).contains("30");

    // The native chat has no entry of its own: limits.max_prompt_chars.
    r = turn(KEY, id(), "x".repeat(500), false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    r = turn(KEY, id(), "x".repeat(2001), false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
    assertThat(TestHttp.json(r).path("limit_chars").asInt()).isEqualTo(2000);

    r = http.postJson("/v1/search", "{\"query\": \"" + "q".repeat(51) + "\"}", headers(KEY, id()));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("query_too_long");
    assertThat(TestHttp.json(r).path("limit_chars").asInt()).isEqualTo(50);
  }

  @Test
  void aTenantWithoutGuardrailsIsUntouched() {
    mock.configure(MockLlm.Behaviour.defaults().withScript(List.of("Write to jane@", "example.com about sarin.")));
    String requestId = id();
    var r = turn(PLAIN_KEY, requestId, "sarin and jane@example.com", true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(SseEvents.parse(r.body()).text()).isEqualTo("Write to jane@example.com about sarin.");
    assertThat(mock.stats().lastRequestBody()).contains("sarin and jane@example.com");
    assertThat(decisions(requestId)).isEmpty();
  }
}
