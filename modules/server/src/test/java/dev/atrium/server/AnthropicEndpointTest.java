package dev.atrium.server;

import static dev.atrium.server.ChatTestTenants.ALPHA_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/messages} and {@code /v1/messages/count_tokens} as Anthropic's clients expect
 * them, over real HTTP, in front of the OpenAI mock upstream: Anthropic's events in order,
 * its message, its error shape for every status.
 */
class AnthropicEndpointTest {
  /** A tenant whose completions allow one call, then 429. */
  static final String GAMMA_KEY = "gamma-key-" + java.util.UUID.randomUUID();

  static final String DELTA_KEY = "delta-key-" + java.util.UUID.randomUUID();

  @TempDir static Path tenantsDir;
  static MockLlm mock;
  /** The mock on Anthropic's Messages protocol, for the tenant whose model is an Anthropic provider. */
  static MockLlm claudeMock;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws IOException {
    mock = MockLlm.startLocal();
    claudeMock = MockLlm.startLocal();
    ChatTestTenants.write(tenantsDir, mock.baseUrl());
    Files.writeString(tenantsDir.resolve("delta.json"), """
        {"id": "delta", "display_name": "Delta",
         "api_keys": [{"id": "k_delta", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "claude",
                    "models": {"claude": {"provider": "anthropic", "upstream_model": "claude-mock"}},
                    "providers": {"anthropic": {"type": "anthropic", "base_url": "%s", "timeout_ms": 5000,
                                                "max_retries": 0, "api_key_env": "ATRIUM_TEST_ANTHROPIC_KEY"}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}},
         "guardrails": {"blocklists": [{"code": "weapons", "terms": ["sarin"]}]}}
        """.formatted(ApiKeys.sha256(DELTA_KEY), claudeMock.baseUrl().replaceAll("/v1$", "")));
    Files.writeString(tenantsDir.resolve("gamma.json"), """
        {"id": "gamma", "display_name": "Gamma",
         "api_keys": [{"id": "k_gamma", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "local", "models": {"local": {"provider": "local"}},
                    "providers": {"local": {"type": "local"}}},
         "rate_limits": {"default": {"paid": {"capacity": 100, "refill_per_second": 100}},
                         "completions": {"paid": {"capacity": 1, "refill_per_second": 0.01}}}}
        """.formatted(ApiKeys.sha256(GAMMA_KEY)));
    node = TestNode.start("anthropic", TestDatabase.fresh("anthropic_endpoint"), TenantRegistry.load(tenantsDir, false),
        Map.of("atrium.sessions.heartbeat-interval", "200ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
    claudeMock.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  /** A call as Anthropic's SDKs make it: the key in x-api-key, an anthropic-version. */
  static HttpResponse<String> messages(String json, String... headers) {
    return post("/v1/messages", json, headers);
  }

  static HttpResponse<String> post(String path, String json, String... headers) {
    String[] all = new String[headers.length + 4];
    all[0] = "x-api-key";
    all[1] = ALPHA_KEY;
    all[2] = "anthropic-version";
    all[3] = "2023-06-01";
    System.arraycopy(headers, 0, all, 4, headers.length);
    return http.postJson(path, json, all);
  }

  static final String HELLO = "{\"model\": \"mock\", \"max_tokens\": 100, \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]";

  @Test
  void streamsTextAsAnthropicsEventsInOrder() {
    var r = messages(HELLO + ", \"stream\": true, \"system\": \"Be brief.\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    assertThat(r.headers().firstValue("request-id")).isEqualTo(r.headers().firstValue("x-request-id"));
    SseEvents events = SseEvents.parse(r.body());
    List<String> expected = new java.util.ArrayList<>(List.of("message_start", "ping", "content_block_start"));
    expected.addAll(java.util.Collections.nCopies(8, "content_block_delta"));
    expected.addAll(List.of("content_block_stop", "message_delta", "message_stop"));
    assertThat(withoutHeartbeats(events.types())).isEqualTo(expected);
    events.events().forEach(e -> assertThat(e.json().path("type").asText()).isEqualTo(e.type()));

    JsonNode start = events.first("message_start").json().path("message");
    assertThat(start.path("id").asText()).startsWith("msg_");
    assertThat(start.path("type").asText()).isEqualTo("message");
    assertThat(start.path("role").asText()).isEqualTo("assistant");
    assertThat(start.path("model").asText()).isEqualTo("mock");
    assertThat(start.path("content")).isEmpty();
    assertThat(start.path("stop_reason").isNull()).isTrue();
    assertThat(start.path("usage").path("input_tokens").asInt()).isPositive();
    assertThat(start.path("usage").path("output_tokens").asInt()).isZero();

    JsonNode block = events.first("content_block_start").json();
    assertThat(block.path("index").asInt()).isZero();
    assertThat(block.path("content_block").path("type").asText()).isEqualTo("text");
    StringBuilder text = new StringBuilder();
    for (SseEvents.Event delta : events.ofType("content_block_delta")) {
      assertThat(delta.json().path("index").asInt()).isZero();
      assertThat(delta.json().path("delta").path("type").asText()).isEqualTo("text_delta");
      text.append(delta.json().path("delta").path("text").asText());
    }
    assertThat(text.toString()).isEqualTo(ChatApiTest.expectedText(8));
    assertThat(events.first("content_block_stop").json().path("index").asInt()).isZero();
    JsonNode end = events.first("message_delta").json();
    assertThat(end.path("delta").path("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(end.path("delta").has("stop_sequence")).isTrue();
    assertThat(end.path("usage").path("output_tokens").asInt()).isEqualTo(8);
    assertThat(end.path("usage").path("input_tokens").asInt()).isPositive();

    // The canonical request reached the OpenAI upstream: the system message first, max_tokens as it was.
    JsonNode upstream = readTree(mock.stats().lastRequestBody());
    assertThat(upstream.path("messages").get(0)).isEqualTo(readTree("{\"role\": \"system\", \"content\": \"Be brief.\"}"));
    assertThat(upstream.path("max_tokens").asInt()).isEqualTo(100);
    assertThat(upstream.path("model").asText()).isEqualTo("mock-model");
  }

  /** The types with the pings after the first left out: a heartbeat may fall anywhere on a slow machine. */
  static List<String> withoutHeartbeats(List<String> types) {
    List<String> kept = new java.util.ArrayList<>(types.subList(0, 2));
    types.subList(2, types.size()).stream().filter(t -> !t.equals("ping")).forEach(kept::add);
    return kept;
  }

  @Test
  void pingsAreTheHeartbeatWhileTheModelIsSilent() {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(3).withChunkDelay(java.time.Duration.ofMillis(700)));
    var r = messages(HELLO + ", \"stream\": true}");
    List<String> types = SseEvents.parse(r.body()).types();
    int firstDelta = types.indexOf("content_block_delta");
    assertThat(types.subList(firstDelta, types.size())).contains("ping");
    assertThat(types).endsWith("message_delta", "message_stop");
  }

  @Test
  void streamsAToolCallAsAToolUseBlockWithInputJsonDeltas() {
    var r = messages("""
        {"model": "mock", "max_tokens": 100, "stream": true, "tool_choice": {"type": "any"},
         "tools": [{"name": "lookup", "description": "Looks things up", "input_schema": {"type": "object"}}],
         "messages": [{"role": "user", "content": "Look it up"}]}""");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    SseEvents events = SseEvents.parse(r.body());
    assertThat(withoutHeartbeats(events.types())).startsWith("message_start", "ping", "content_block_start")
        .endsWith("content_block_stop", "message_delta", "message_stop");
    JsonNode block = events.first("content_block_start").json();
    assertThat(block.path("index").asInt()).isZero();
    assertThat(block.path("content_block")).isEqualTo(
        readTree("{\"type\": \"tool_use\", \"id\": \"call_mock_1\", \"name\": \"lookup\", \"input\": {}}"));
    StringBuilder json = new StringBuilder();
    for (SseEvents.Event delta : events.ofType("content_block_delta")) {
      assertThat(delta.json().path("index").asInt()).isZero();
      assertThat(delta.json().path("delta").path("type").asText()).isEqualTo("input_json_delta");
      json.append(delta.json().path("delta").path("partial_json").asText());
    }
    assertThat(readTree(json.toString())).isEqualTo(readTree("{\"q\": \"t0 t1 t2 t3 t4 t5 t6 t7\"}"));
    assertThat(events.first("message_delta").json().path("delta").path("stop_reason").asText()).isEqualTo("tool_use");

    JsonNode upstream = readTree(mock.stats().lastRequestBody());
    assertThat(upstream.path("tool_choice").asText()).isEqualTo("required");
    assertThat(upstream.path("tools")).isEqualTo(readTree("""
        [{"type": "function", "function": {"name": "lookup", "description": "Looks things up",
          "parameters": {"type": "object"}}}]"""));
  }

  @Test
  void answersWithOneMessageWithoutStreaming() {
    var r = messages(HELLO + ", \"temperature\": 0.3, \"stop_sequences\": [\"END\"], \"metadata\": {\"user_id\": \"u-1\"}}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = TestHttp.json(r);
    assertThat(body.path("id").asText()).startsWith("msg_");
    assertThat(body.path("type").asText()).isEqualTo("message");
    assertThat(body.path("role").asText()).isEqualTo("assistant");
    assertThat(body.path("model").asText()).isEqualTo("mock");
    assertThat(body.path("content")).isEqualTo(readTree(
        "[{\"type\": \"text\", \"text\": \"" + ChatApiTest.expectedText(8) + "\"}]"));
    assertThat(body.path("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(body.path("stop_sequence").isNull()).isTrue();
    assertThat(body.path("usage").path("output_tokens").asInt()).isEqualTo(8);
    assertThat(body.path("usage").path("input_tokens").asInt()).isPositive();
    JsonNode upstream = readTree(mock.stats().lastRequestBody());
    assertThat(upstream.path("temperature").asDouble()).isEqualTo(0.3);
    assertThat(upstream.path("stop")).isEqualTo(readTree("[\"END\"]"));
    assertThat(upstream.path("user").asText()).isEqualTo("u-1");
  }

  @Test
  void blocksToolUsesAndToolResultsReachTheUpstreamInOpenAisShape() {
    var r = messages("""
        {"model": "mock", "max_tokens": 50,
         "system": [{"type": "text", "text": "Use the tool.", "cache_control": {"type": "ephemeral"}}],
         "messages": [
           {"role": "user", "content": [{"type": "text", "text": "What is in "},
             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
           {"role": "assistant", "content": [{"type": "text", "text": "Let me look."},
             {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "cat"}}]},
           {"role": "user", "content": [
             {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "no such cat"}],
              "is_error": true},
             {"type": "text", "text": "And now?"}]}]}""");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode upstream = readTree(mock.stats().lastRequestBody()).path("messages");
    assertThat(upstream).isEqualTo(readTree("""
        [{"role": "system", "content": "Use the tool."},
         {"role": "user", "content": [{"type": "text", "text": "What is in "},
           {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
         {"role": "assistant", "content": "Let me look.",
          "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "lookup", "arguments": "{\\"q\\":\\"cat\\"}"}}]},
         {"role": "tool", "content": "Error: no such cat", "tool_call_id": "toolu_1"},
         {"role": "user", "content": "And now?"}]"""));
  }

  @Test
  void invalidRequestsAre400sInAnthropicsShapeNamingThePath() {
    Map<String, String> cases = Map.of(
        "{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "max_tokens: Field required",
        "{\"model\": \"mock\", \"max_tokens\": 10, \"messages\": []}", "messages: must be a non-empty array",
        "{\"model\": \"mock\", \"max_tokens\": 10, \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"x\"},"
            + " {\"type\": \"document\", \"source\": {}}]}]}", "messages.0.content.1.type: content blocks of type 'document'",
        HELLO + ", \"top_k\": 5}", "top_k: not supported",
        HELLO + ", \"thinking\": {\"type\": \"enabled\", \"budget_tokens\": 1024}}", "thinking: not supported",
        HELLO + ", \"frequency_penalty\": 1}", "frequency_penalty: Extra inputs are not permitted",
        HELLO + ", \"tools\": [{\"type\": \"web_search_20250305\", \"name\": \"web_search\"}]}",
            "tools.0.type: server tools ('web_search_20250305')",
        "{\"model\": \"mock\", \"max_tokens\": 10, \"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}",
            "messages.0.role: must be",
        "{\"model\": \"mock\", \"max_tokens\": ", "");
    cases.forEach((body, message) -> {
      var r = messages(body);
      assertThat(r.statusCode()).as(body).isEqualTo(400);
      JsonNode json = TestHttp.json(r);
      assertThat(json.path("type").asText()).isEqualTo("error");
      assertThat(json.path("error").path("type").asText()).isEqualTo("invalid_request_error");
      assertThat(json.path("error").path("message").asText()).as(body).contains(message);
      assertThat(json.path("request_id").asText()).isEqualTo(r.headers().firstValue("request-id").orElseThrow());
    });
    assertThat(mock.stats().requests()).isZero();
  }

  @Test
  void aMissingOrWrongKeyIs401AndAnUnknownModel404InAnthropicsShape() {
    var missing = http.postJson("/v1/messages", HELLO + "}");
    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(TestHttp.json(missing).path("error").path("type").asText()).isEqualTo("authentication_error");
    var wrong = http.postJson("/v1/messages", HELLO + "}", "x-api-key", "wrong");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(TestHttp.json(wrong).path("type").asText()).isEqualTo("error");
    assertThat(TestHttp.json(wrong).path("error").path("type").asText()).isEqualTo("authentication_error");

    var unknown = messages("{\"model\": \"claude-nope\", \"max_tokens\": 10, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(unknown).path("error").path("type").asText()).isEqualTo("not_found_error");
    assertThat(TestHttp.json(unknown).path("error").path("message").asText()).startsWith("model: claude-nope")
        .contains("this tenant's models are [").contains("mock");
    var tooLong = messages("{\"model\": \"mock\", \"max_tokens\": 10, \"messages\": [{\"role\": \"user\", \"content\": \""
        + "y".repeat(2500) + "\"}]}");
    assertThat(tooLong.statusCode()).isEqualTo(413);
    assertThat(TestHttp.json(tooLong).path("error").path("type").asText()).isEqualTo("request_too_large");
    assertThat(mock.stats().requests()).isZero();
  }

  @Test
  void overTheRateLimitIs429RateLimitErrorWithRetryAfter() {
    String body = "{\"model\": \"local\", \"max_tokens\": 10, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}";
    var first = http.postJson("/v1/messages", body, "x-api-key", GAMMA_KEY);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    var limited = http.postJson("/v1/messages", body, "x-api-key", GAMMA_KEY);
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("retry-after")).isPresent();
    assertThat(TestHttp.json(limited).path("type").asText()).isEqualTo("error");
    assertThat(TestHttp.json(limited).path("error").path("type").asText()).isEqualTo("rate_limit_error");
  }

  @Test
  void anUpstreamDownBeforeTheFirstTokenIsA5xxApiError() {
    mock.configure(MockLlm.Behaviour.defaults().failing(503, Integer.MAX_VALUE));
    var r = messages(HELLO + ", \"stream\": true}");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode json = TestHttp.json(r);
    assertThat(json.path("type").asText()).isEqualTo("error");
    assertThat(json.path("error").path("type").asText()).isEqualTo("api_error");
  }

  @Test
  void aFailureAfterTheFirstTokenIsAnErrorEventThatEndsTheStream() {
    // Chunks apart in time: the mock's dropped connection could otherwise take unread chunks with it.
    mock.configure(MockLlm.Behaviour.defaults().withChunks(10).withChunkDelay(java.time.Duration.ofMillis(100))
        .droppingAfter(3));
    var r = messages(HELLO + ", \"stream\": true}");
    assertThat(r.statusCode()).isEqualTo(200);
    SseEvents events = SseEvents.parse(r.body());
    assertThat(withoutHeartbeats(events.types())).startsWith("message_start", "ping", "content_block_start", "content_block_delta")
        .endsWith("error").doesNotContain("message_stop", "message_delta");
    JsonNode error = events.first("error").json();
    assertThat(error.path("type").asText()).isEqualTo("error");
    assertThat(error.path("error").path("type").asText()).isEqualTo("api_error");
    assertThat(error.path("error").path("message").asText()).isNotBlank();
  }

  @Test
  void countTokensCountsMessagesSystemAndToolsWithoutCallingTheModel() {
    var plain = post("/v1/messages/count_tokens",
        "{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello there\"}]}");
    assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
    int base = TestHttp.json(plain).path("input_tokens").asInt();
    assertThat(base).isPositive();
    var withTools = post("/v1/messages/count_tokens", """
        {"model": "mock", "system": "You are terse.",
         "tools": [{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
         "messages": [{"role": "user", "content": "Hello there"}]}""");
    assertThat(TestHttp.json(withTools).path("input_tokens").asInt()).isGreaterThan(base + 5);
    assertThat(TestHttp.json(withTools).size()).isEqualTo(1);

    var unknown = post("/v1/messages/count_tokens",
        "{\"model\": \"nope\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(unknown).path("error").path("type").asText()).isEqualTo("not_found_error");
    var sampling = post("/v1/messages/count_tokens", HELLO + "}");
    assertThat(sampling.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(sampling).path("error").path("message").asText()).startsWith("max_tokens:");
    assertThat(mock.stats().requests()).isZero();
  }

  @Test
  void xSessionIdMakesTheCallATurnOfThatSession() {
    String sessionId = TestHttp.json(http.postJson("/v1/chat/sessions", "{\"system_prompt\": \"Session rules.\"}",
        "Authorization", "Bearer " + ALPHA_KEY)).path("id").asText();
    var first = messages("{\"model\": \"mock\", \"max_tokens\": 50, \"messages\": [{\"role\": \"user\", \"content\": \"first\"}]}",
        "x-session-id", sessionId);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    var second = messages("{\"model\": \"mock\", \"max_tokens\": 50, \"stream\": true,"
        + " \"messages\": [{\"role\": \"user\", \"content\": \"second\"}]}", "x-session-id", sessionId);
    assertThat(SseEvents.parse(second.body()).types()).endsWith("message_delta", "message_stop");
    assertThat(mock.stats().lastRequestBody()).contains("Session rules.", "first", "second");

    JsonNode stored = TestHttp.json(http.get("/v1/chat/sessions/" + sessionId + "/messages",
        "Authorization", "Bearer " + ALPHA_KEY)).path("data");
    assertThat(stored.findValuesAsText("content"))
        .containsExactly("first", ChatApiTest.expectedText(8), "second", ChatApiTest.expectedText(8));

    var replayed = messages("{\"model\": \"mock\", \"max_tokens\": 50, \"messages\": [{\"role\": \"user\", \"content\": \"third\"}]}",
        "x-session-id", sessionId, "Idempotency-Key", "t-3");
    var again = messages("{\"model\": \"mock\", \"max_tokens\": 50, \"messages\": [{\"role\": \"user\", \"content\": \"third\"}]}",
        "x-session-id", sessionId, "Idempotency-Key", "t-3");
    assertThat(TestHttp.json(again).path("content")).isEqualTo(TestHttp.json(replayed).path("content"));
    var streamedAgain = messages("{\"model\": \"mock\", \"max_tokens\": 50, \"stream\": true,"
        + " \"messages\": [{\"role\": \"user\", \"content\": \"third\"}]}",
        "x-session-id", sessionId, "Idempotency-Key", "t-3");
    SseEvents replay = SseEvents.parse(streamedAgain.body());
    assertThat(withoutHeartbeats(replay.types())).containsExactly("message_start", "ping", "content_block_start",
        "content_block_delta", "content_block_stop", "message_delta", "message_stop");
    assertThat(replay.first("content_block_delta").json().path("delta").path("text").asText())
        .isEqualTo(ChatApiTest.expectedText(8));
    assertThat(mock.stats().requests()).isEqualTo(3);

    var notLastUser = messages("{\"model\": \"mock\", \"max_tokens\": 50, \"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}",
        "x-session-id", sessionId);
    assertThat(notLastUser.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(notLastUser).path("error").path("type").asText()).isEqualTo("invalid_request_error");
    var foreign = messages(HELLO + "}", "x-session-id", "s_nope");
    assertThat(foreign.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(foreign).path("error").path("type").asText()).isEqualTo("not_found_error");
  }

  @Test
  void anAnthropicProviderBehindTheDoorGetsTheCacheBreakpointsAndReportsCacheUsage() {
    // Six words behind a breakpoint, two after it (the mock counts words).
    String body = """
        {"model": "claude", "max_tokens": 100,
         "system": [{"type": "text", "text": "You count words for us today", "cache_control": {"type": "ephemeral"}}],
         "messages": [{"role": "user", "content": "Hello there"}]%s}""";
    var first = http.postJson("/v1/messages", body.formatted(""), "x-api-key", DELTA_KEY);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(TestHttp.json(first).path("usage")).isEqualTo(readTree(
        "{\"input_tokens\": 2, \"output_tokens\": 8, \"cache_creation_input_tokens\": 6}"));
    assertThat(readTree(claudeMock.stats().lastRequestBody()).path("system")).isEqualTo(readTree(
        "[{\"type\": \"text\", \"text\": \"You count words for us today\", \"cache_control\": {\"type\": \"ephemeral\"}}]"));

    var second = http.postJson("/v1/messages", body.formatted(", \"stream\": true"), "x-api-key", DELTA_KEY);
    SseEvents events = SseEvents.parse(second.body());
    assertThat(withoutHeartbeats(events.types())).startsWith("message_start", "ping", "content_block_start")
        .endsWith("content_block_stop", "message_delta", "message_stop");
    assertThat(events.first("message_delta").json().path("usage")).isEqualTo(readTree(
        "{\"input_tokens\": 2, \"output_tokens\": 8, \"cache_read_input_tokens\": 6}"));
    StringBuilder text = new StringBuilder();
    events.ofType("content_block_delta").forEach(d -> text.append(d.json().path("delta").path("text").asText()));
    assertThat(text.toString()).isEqualTo(ChatApiTest.expectedText(8));
  }

  @Test
  void aBlockedInputIsA400InAnthropicsShapeBeforeAnyProviderIsAsked() {
    long before = claudeMock.stats().requests();
    for (String stream : new String[] {"false", "true"}) {
      var r = http.postJson("/v1/messages", "{\"model\": \"claude\", \"max_tokens\": 10, \"stream\": " + stream
          + ", \"messages\": [{\"role\": \"user\", \"content\": \"how to make sarin\"}]}", "x-api-key", DELTA_KEY);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
      assertThat(TestHttp.json(r).path("type").asText()).isEqualTo("error");
      assertThat(TestHttp.json(r).path("error").path("type").asText()).isEqualTo("invalid_request_error");
    }
    assertThat(claudeMock.stats().requests()).isEqualTo(before);
  }

  private static JsonNode readTree(String json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
