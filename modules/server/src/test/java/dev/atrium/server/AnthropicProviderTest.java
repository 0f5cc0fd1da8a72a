package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
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
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tenant with an {@code anthropic} provider on the mock's Messages protocol, called through
 * the OpenAI door on a real node: answers streamed and whole, with prompt-cache usage on the
 * response and in {@code usage_events} (cache writes priced apart); what reached the upstream
 * (its key, version, system blocks, max_tokens, tools); fallbacks between the protocols
 * before the first token and none after it; tool calls reaching the OpenAI client; an
 * option Anthropic cannot take refused; the key in no log line.
 */
class AnthropicProviderTest {
  static final String KEY = "anthropic-key-" + UUID.randomUUID();
  /** Set for the test JVM by the build (the root pom's surefire configuration). */
  static final String UPSTREAM_KEY = System.getenv("ATRIUM_TEST_ANTHROPIC_KEY");
  static final String CALLER_KEY = "sk-ant-caller-" + UUID.randomUUID().toString().replace("-", "");
  // USD per million tokens = micro-USD per token.
  static final double INPUT = 3;
  static final double OUTPUT = 15;
  static final double CACHED = 0.3;
  static final double CACHE_WRITE = 3.75;
  /** Six words, a cache breakpoint after them. */
  static final String SYSTEM = "You count words for us today";
  @TempDir static Path tenantsDir;
  static CapturedLogs logs;
  static MockLlm openAi;
  static MockLlm anthropic;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    assertThat(UPSTREAM_KEY).as("ATRIUM_TEST_ANTHROPIC_KEY in the test JVM's environment").startsWith("sk-ant-");
    logs = CapturedLogs.capture();
    openAi = MockLlm.startLocal();
    anthropic = MockLlm.startLocal();
    Files.writeString(tenantsDir.resolve("claude.json"), """
        {"id": "claude", "display_name": "Claude",
         "api_keys": [{"id": "k_claude", "sha256": "%s", "tier": "PAID", "account": "acct_c"}],
         "features": {"byok": true},
         "byok": {"providers": {"anthropic": "anthropic"}},
         "models": {"default_model": "claude",
                    "models": {"claude": {"provider": "anthropic", "upstream_model": "claude-mock"},
                               "gpt": {"provider": "oa", "upstream_model": "mock-model", "fallbacks": ["claude"]},
                               "claude-first": {"provider": "anthropic", "upstream_model": "claude-mock",
                                                "fallbacks": ["gpt"]}},
                    "providers": {"oa": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0},
                                  "anthropic": {"type": "anthropic", "base_url": "%s", "timeout_ms": 5000,
                                                "max_retries": 0, "api_key_env": "ATRIUM_TEST_ANTHROPIC_KEY",
                                                "anthropic_version": "2023-06-01"}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}},
         "stream_slots": {"per_client": 50, "per_tenant": 100}}
        """.formatted(ApiKeys.sha256(KEY), openAi.baseUrl(),
        // The provider takes a base URL with or without /v1: the mock's ends in /v1.
        anthropic.baseUrl().replaceAll("/v1$", "")));
    db = TestDatabase.fresh("anthropic");
    node = TestNode.start("anthropic", db, TenantRegistry.load(tenantsDir, false), Map.of(
        "atrium.usage.prices.claude-mock.input", INPUT,
        "atrium.usage.prices.claude-mock.output", OUTPUT,
        "atrium.usage.prices.claude-mock.cached-input", CACHED,
        "atrium.usage.prices.claude-mock.cache-write-input", CACHE_WRITE,
        "atrium.usage.flush-interval", "50ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    try {
      // Whatever the tests did, no line of the node's logs holds a key (or its tail).
      assertThat(logs.lines()).isNotEmpty();
      for (String key : List.of(UPSTREAM_KEY, CALLER_KEY)) {
        assertThat(logs.linesContaining(key.substring(8))).isEmpty();
      }
    } finally {
      logs.close();
      node.close();
      openAi.close();
      anthropic.close();
    }
  }

  @BeforeEach
  void reset() {
    openAi.reset();
    anthropic.reset();
  }

  static HttpResponse<String> completion(String requestId, String body, String... more) {
    List<String> headers = new java.util.ArrayList<>(List.of("Authorization", "Bearer " + KEY, "x-request-id", requestId));
    headers.addAll(List.of(more));
    return http.postJson("/v1/chat/completions", body, headers.toArray(String[]::new));
  }

  /** A call of {@code model} with the cached system prompt and a user message of three words. */
  static String body(String model, boolean stream, String extra) {
    return """
        {"model": "%s", "stream": %s, "stream_options": {"include_usage": true}%s,
         "messages": [{"role": "system", "content": "%s", "cache_control": {"type": "ephemeral"}},
                      {"role": "user", "content": "Count %s"}]}""".formatted(model, stream, extra, SYSTEM,
        UUID.randomUUID());
  }

  static JsonNode json(String s) {
    try {
      return Json.MAPPER.readTree(s);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, Object> row(String requestId) {
    return UsageTest.row(db, "request_id = ?", requestId);
  }

  static long intOf(Map<String, Object> row, String column) {
    return ((Number) row.get(column)).longValue();
  }

  @Test
  void aWholeAnswerFromTheAnthropicUpstreamWithCacheWritesThenReads() {
    var first = completion("req-a-whole-1", body("claude", false, ""));
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    JsonNode answer = TestHttp.json(first);
    assertThat(answer.path("choices").path(0).path("message").path("content").asText()).isEqualTo(
        "t0 t1 t2 t3 t4 t5 t6 t7 ");
    assertThat(answer.path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");
    // The whole prompt: 2 words uncached, 6 written to the cache.
    assertThat(answer.path("usage").path("prompt_tokens").asInt()).isEqualTo(8);
    assertThat(answer.path("usage").path("completion_tokens").asInt()).isEqualTo(8);
    assertThat(answer.path("usage").has("prompt_tokens_details")).isFalse();

    // What reached the upstream: its key and version, the system block, max_tokens (Anthropic requires it).
    MockLlm.Stats seen = anthropic.stats();
    assertThat(seen.lastRequestHeaders()).contains("x-api-key", "anthropic-version").doesNotContain("authorization");
    assertThat(anthropic.authorizations()).containsExactly(UPSTREAM_KEY);
    JsonNode sent = json(seen.lastRequestBody());
    assertThat(sent.path("model").asText()).isEqualTo("claude-mock");
    assertThat(sent.path("max_tokens").asInt()).isEqualTo(4096);
    assertThat(sent.path("system")).isEqualTo(json("""
        [{"type": "text", "text": "%s", "cache_control": {"type": "ephemeral"}}]""".formatted(SYSTEM)));
    assertThat(sent.path("messages").path(0).path("role").asText()).isEqualTo("user");
    assertThat(sent.has("stream_options")).isFalse();

    Map<String, Object> row = row("req-a-whole-1");
    assertThat(row).containsEntry("provider", "anthropic:anthropic").containsEntry("model", "claude")
        .containsEntry("upstream_model", "claude-mock").containsEntry("status", "ok")
        .containsEntry("tokens_in", 8).containsEntry("tokens_out", 8).containsEntry("cached_tokens_in", 0)
        .containsEntry("cache_write_tokens_in", 6).containsEntry("tokens_counted", false);
    assertThat(intOf(row, "cost_micro_usd")).isEqualTo(Math.round(2 * INPUT + 6 * CACHE_WRITE + 8 * OUTPUT));

    // The same prefix again: read from the cache.
    var second = completion("req-a-whole-2", body("claude", false, ""));
    assertThat(TestHttp.json(second).path("usage").path("prompt_tokens_details").path("cached_tokens").asInt())
        .isEqualTo(6);
    Map<String, Object> again = row("req-a-whole-2");
    assertThat(again).containsEntry("tokens_in", 8).containsEntry("cached_tokens_in", 6)
        .containsEntry("cache_write_tokens_in", 0);
    assertThat(intOf(again, "cost_micro_usd")).isEqualTo(Math.round(2 * INPUT + 6 * CACHED + 8 * OUTPUT));
  }

  @Test
  void theUsageReportCountsCacheWrites() {
    var r = completion("req-report", body("claude", false, ""));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    row("req-report");
    var report = http.get("/v1/usage?group_by=model", "Authorization", "Bearer " + KEY);
    assertThat(report.statusCode()).as(report.body()).isEqualTo(200);
    JsonNode claude = java.util.stream.StreamSupport.stream(TestHttp.json(report).path("rows").spliterator(), false)
        .filter(row -> row.path("model").asText().equals("claude")).findFirst().orElseThrow();
    // This call wrote its six-word system prompt to the (reset) cache; other tests' calls may add theirs.
    assertThat(claude.path("cache_write_tokens_in").asLong()).isGreaterThanOrEqualTo(6);
    assertThat(TestHttp.json(report).path("totals").path("cache_write_tokens_in").asLong())
        .isGreaterThanOrEqualTo(claude.path("cache_write_tokens_in").asLong());
    // And in Prometheus, beside the other kinds of tokens.
    String metrics = node.adminHttp().get("/metrics").body();
    java.util.regex.Matcher written = java.util.regex.Pattern.compile(
        "atrium_usage_tokens_total\\{kind=\"cache_write_in\",model=\"claude\",tenant=\"claude\"} ([0-9.]+)")
        .matcher(metrics);
    assertThat(written.find()).as(metrics).isTrue();
    assertThat(Double.parseDouble(written.group(1))).isGreaterThanOrEqualTo(6);
  }

  @Test
  void aStreamedAnswerFromTheAnthropicUpstreamWithUsage() {
    var r = completion("req-a-stream", body("claude", true, ", \"max_tokens\": 5"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    List<JsonNode> chunks = CompletionCalls.chunks(r.body());
    assertThat(CompletionCalls.streamedText(chunks)).isEqualTo("t0 t1 t2 t3 t4 ");
    // max_tokens cut the answer short: Anthropic's max_tokens is OpenAI's length.
    assertThat(chunks).anySatisfy(c -> assertThat(c.path("choices").path(0).path("finish_reason").asText())
        .isEqualTo("length"));
    JsonNode usage = chunks.stream().filter(c -> c.path("usage").isObject()).findFirst().orElseThrow().path("usage");
    assertThat(usage.path("prompt_tokens").asInt()).isEqualTo(8);
    assertThat(usage.path("completion_tokens").asInt()).isEqualTo(5);
    assertThat(chunks.get(chunks.size() - 1).asText()).isEqualTo("[DONE]");
    JsonNode sent = json(anthropic.stats().lastRequestBody());
    assertThat(sent.path("stream").asBoolean()).isTrue();
    assertThat(sent.path("max_tokens").asInt()).isEqualTo(5);
    assertThat(anthropic.stats().streamsCompleted()).isEqualTo(1);
    assertThat(row("req-a-stream")).containsEntry("provider", "anthropic:anthropic").containsEntry("tokens_in", 8)
        .containsEntry("tokens_out", 5).containsEntry("cache_write_tokens_in", 6).containsEntry("status", "ok");
  }

  @Test
  void anOpenAiModelFallsBackToTheAnthropicOneOnA5xxBeforeTheFirstToken() {
    openAi.configure(MockLlm.Behaviour.defaults().failing(503, Integer.MAX_VALUE));
    var streamed = completion("req-fb-stream", body("gpt", true, ""));
    assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(200);
    assertThat(CompletionCalls.streamedText(CompletionCalls.chunks(streamed.body()))).isEqualTo(
        "t0 t1 t2 t3 t4 t5 t6 t7 ");
    var whole = completion("req-fb-whole", body("gpt", false, ""));
    assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
    assertThat(openAi.stats().requests()).isEqualTo(2);
    assertThat(anthropic.stats().requests()).isEqualTo(2);
    for (String id : List.of("req-fb-stream", "req-fb-whole")) {
      assertThat(row(id)).as(id).containsEntry("provider", "anthropic:anthropic").containsEntry("model", "claude")
          .containsEntry("upstream_model", "claude-mock").containsEntry("status", "ok");
    }
  }

  @Test
  void noFallbackOnceTheFirstTokenHasReachedTheClient() {
    openAi.configure(MockLlm.Behaviour.defaults().droppingAfter(2));
    var r = completion("req-fb-late", body("gpt", true, ""));
    assertThat(r.statusCode()).isEqualTo(200);
    List<JsonNode> chunks = CompletionCalls.chunks(r.body());
    assertThat(CompletionCalls.streamedText(chunks)).isEqualTo("t0 t1 ");
    assertThat(chunks.get(chunks.size() - 1).path("error").path("code").asText()).isNotEmpty();
    assertThat(anthropic.stats().requests()).isZero();
    assertThat(row("req-fb-late")).containsEntry("provider", "openai:oa");
  }

  @Test
  void anAnthropicModelFallsBackToTheOpenAiOneWhenOverloaded() {
    anthropic.configure(MockLlm.Behaviour.defaults().failing(529, Integer.MAX_VALUE));
    var r = completion("req-fb-back", body("claude-first", true, ""));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(CompletionCalls.streamedText(CompletionCalls.chunks(r.body()))).isEqualTo("t0 t1 t2 t3 t4 t5 t6 t7 ");
    assertThat(anthropic.stats().requests()).isEqualTo(1);
    assertThat(openAi.stats().requests()).isEqualTo(1);
    assertThat(row("req-fb-back")).containsEntry("provider", "openai:oa").containsEntry("model", "gpt");
    // Without a fallback the overload is the client's 502, in OpenAI's shape.
    var alone = completion("req-overloaded", body("claude", false, ""));
    assertThat(alone.statusCode()).as(alone.body()).isEqualTo(502);
    assertThat(TestHttp.json(alone).path("error").path("message").asText()).contains("529");
  }

  @Test
  void toolCallsFromTheAnthropicUpstreamReachTheOpenAiClient() {
    String tools = """
        , "tool_choice": "required", "parallel_tool_calls": false,
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "Looks things up",
                   "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]""";
    var r = completion("req-tools-stream", body("claude", true, tools));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    List<JsonNode> chunks = CompletionCalls.chunks(r.body());
    List<JsonNode> calls = chunks.stream().map(c -> c.path("choices").path(0).path("delta").path("tool_calls"))
        .filter(JsonNode::isArray).toList();
    assertThat(calls).isNotEmpty();
    JsonNode first = calls.get(0).path(0);
    assertThat(first.path("index").asInt()).isZero();
    assertThat(first.path("id").asText()).isEqualTo("toolu_mock_1");
    assertThat(first.path("type").asText()).isEqualTo("function");
    assertThat(first.path("function").path("name").asText()).isEqualTo("lookup");
    StringBuilder arguments = new StringBuilder();
    calls.forEach(c -> arguments.append(c.path(0).path("function").path("arguments").asText("")));
    assertThat(json(arguments.toString())).isEqualTo(json("{\"q\": \"t0 t1 t2 t3 t4 t5 t6 t7\"}"));
    assertThat(chunks).anySatisfy(c -> assertThat(c.path("choices").path(0).path("finish_reason").asText())
        .isEqualTo("tool_calls"));
    JsonNode sent = json(anthropic.stats().lastRequestBody());
    assertThat(sent.path("tools")).isEqualTo(json("""
        [{"name": "lookup", "description": "Looks things up",
          "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]"""));
    assertThat(sent.path("tool_choice")).isEqualTo(json("{\"type\": \"any\", \"disable_parallel_tool_use\": true}"));

    var whole = completion("req-tools-whole", body("claude", false, tools));
    assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
    JsonNode choice = TestHttp.json(whole).path("choices").path(0);
    assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
    JsonNode call = choice.path("message").path("tool_calls").path(0);
    assertThat(call.path("id").asText()).isEqualTo("toolu_mock_1");
    assertThat(call.path("function").path("name").asText()).isEqualTo("lookup");
    assertThat(json(call.path("function").path("arguments").asText()))
        .isEqualTo(json("{\"q\": \"t0 t1 t2 t3 t4 t5 t6 t7\"}"));
  }

  @Test
  void anOptionAnthropicCannotTakeIsA400InOpenAisShapeNamingIt() {
    for (boolean stream : new boolean[] {false, true}) {
      var r = completion("req-unsupported-" + stream, body("claude", stream, ", \"logit_bias\": {\"50256\": -100}"));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
      JsonNode error = TestHttp.json(r).path("error");
      assertThat(error.path("code").asText()).isEqualTo("unsupported_parameter");
      assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
      assertThat(error.path("message").asText()).contains("'logit_bias'");
    }
    assertThat(anthropic.stats().requests()).isZero();
  }

  @Test
  void aCallersOwnAnthropicKeyReachesTheUpstreamInPlaceOfTheTenants() {
    var r = completion("req-byok", body("claude", false, ""), "x-anthropic-key", CALLER_KEY);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(anthropic.authorizations()).containsExactly(CALLER_KEY);
    assertThat(row("req-byok")).containsEntry("provider", "anthropic:anthropic").containsEntry("byo", true);
  }
}
