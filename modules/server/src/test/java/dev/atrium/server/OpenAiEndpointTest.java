package dev.atrium.server;

import static dev.atrium.server.ChatTestTenants.ALPHA_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /v1/chat/completions} and {@code /v1/models} as OpenAI's clients expect them. */
class OpenAiEndpointTest {
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() {
    mock = MockLlm.startLocal();
    node = TestNode.start("openai", TestDatabase.fresh("openai_endpoint"), ChatTestTenants.write(tenantsDir, mock.baseUrl()),
        Map.of());
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

  static HttpResponse<String> completions(String json, String... headers) {
    String[] all = new String[headers.length + 2];
    all[0] = "Authorization";
    all[1] = "Bearer " + ALPHA_KEY;
    System.arraycopy(headers, 0, all, 2, headers.length);
    return http.postJson("/v1/chat/completions", json, all);
  }

  @Test
  void streamsInOpenAisFramingWithUsageAndDone() {
    var r = completions("""
        {"model": "mock", "stream": true, "stream_options": {"include_usage": true},
         "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]}""");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    assertThat(r.body()).endsWith("data: [DONE]\n\n");
    List<SseEvents.Event> events = SseEvents.parse(r.body()).events();
    List<SseEvents.Event> chunks = events.subList(0, events.size() - 1);
    JsonNode first = chunks.get(0).json();
    assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(first.path("id").asText()).startsWith("chatcmpl-");
    assertThat(first.path("model").asText()).isEqualTo("mock");
    assertThat(first.path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
    StringBuilder text = new StringBuilder();
    String finish = null;
    for (SseEvents.Event e : chunks) {
      JsonNode chunk = e.json();
      assertThat(chunk.path("id").asText()).isEqualTo(first.path("id").asText());
      if (chunk.path("choices").size() > 0) {
        text.append(chunk.path("choices").get(0).path("delta").path("content").asText(""));
        if (chunk.path("choices").get(0).path("finish_reason").isTextual()) {
          finish = chunk.path("choices").get(0).path("finish_reason").asText();
        }
      }
    }
    assertThat(text.toString()).isEqualTo(ChatApiTest.expectedText(8));
    assertThat(finish).isEqualTo("stop");
    JsonNode usage = chunks.get(chunks.size() - 1).json();
    assertThat(usage.path("choices")).isEmpty();
    assertThat(usage.path("usage").path("completion_tokens").asInt()).isEqualTo(8);
    assertThat(usage.path("usage").path("total_tokens").asInt()).isGreaterThan(8);
  }

  @Test
  void streamsToolCallDeltasExactlyAsTheUpstreamSentThem() throws Exception {
    String body = """
        {"model": "%s", "stream": true, "tool_choice": "required",
         "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
         "messages": [{"role": "user", "content": "Look it up"}]}""";
    var r = completions(body.formatted("mock"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    var direct = HttpClient.newHttpClient().send(HttpRequest.newBuilder(java.net.URI.create(mock.baseUrl() + "/chat/completions"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.formatted("mock-model"))).build(),
        HttpResponse.BodyHandlers.ofString());
    List<JsonNode> through = deltas(r.body());
    List<JsonNode> upstream = deltas(direct.body());
    // The door sends its own role chunk in place of the upstream's opening one ({"role":
    // "assistant","content":""}: no token); the upstream's other deltas follow without their
    // role, otherwise as they were.
    assertThat(through.get(0).path("role").asText()).isEqualTo("assistant");
    assertThat(upstream.get(0).path("content").asText("x")).isEmpty();
    List<JsonNode> tokens = upstream.subList(1, upstream.size());
    tokens.forEach(delta -> ((com.fasterxml.jackson.databind.node.ObjectNode) delta).remove("role"));
    assertThat(through.subList(1, through.size())).isEqualTo(tokens);
    assertThat(tokens.get(0).path("tool_calls").get(0).path("function").path("name").asText()).isEqualTo("lookup");
    assertThat(r.body()).contains("\"finish_reason\":\"tool_calls\"");
  }

  /** The deltas of a stream's chunks, in order (chunks without choices left out). */
  static List<JsonNode> deltas(String sse) {
    return SseEvents.parse(sse).events().stream().filter(e -> !e.data().equals("[DONE]"))
        .map(e -> e.json().path("choices").path(0))
        .filter(choice -> !choice.isMissingNode() && choice.path("finish_reason").isNull())
        .map(choice -> choice.path("delta")).toList();
  }

  @Test
  void withoutIncludeUsageNoUsageChunkIsSent() {
    var r = completions("{\"model\": \"mock\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
    assertThat(r.body()).doesNotContain("\"usage\"").endsWith("data: [DONE]\n\n");
  }

  @Test
  void answersWholeWithoutStreaming() {
    var r = completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode body = TestHttp.json(r);
    assertThat(body.path("object").asText()).isEqualTo("chat.completion");
    assertThat(body.path("choices").get(0).path("message").path("content").asText()).isEqualTo(ChatApiTest.expectedText(8));
    assertThat(body.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(8);
  }

  @Test
  void acceptsContentAsTextPartsAndPassesStandardFieldsThrough() {
    var r = completions("""
        {"model": "mock", "temperature": 0.2, "top_p": 0.9, "max_tokens": 50, "stop": ["\\n"], "seed": 7,
         "response_format": {"type": "text"},
         "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
         "tool_choice": "auto", "not_a_standard_field": 1,
         "messages": [{"role": "user", "content": [{"type": "text", "text": "part one, "}, {"type": "text", "text": "part two"}]}]}""");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String upstream = mock.stats().lastRequestBody();
    assertThat(upstream).contains("\"temperature\":0.2", "\"top_p\":0.9", "\"max_tokens\":50", "\"seed\":7",
        "\"response_format\"", "\"tools\"", "\"tool_choice\":\"auto\"", "part one, ", "\"model\":\"mock-model\"");
    assertThat(upstream).doesNotContain("not_a_standard_field");
  }

  static final String RICH_MESSAGES = """
      [{"role": "system", "content": "Use the tool.", "name": "policy"},
       {"role": "user", "content": [{"type": "text", "text": "What is in "},
         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
         {"type": "text", "text": "this picture?", "cache_control": {"type": "ephemeral"}}]},
       {"role": "assistant", "content": null, "refusal": null,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\\"q\\":\\"cat\\"}"}}]},
       {"role": "tool", "tool_call_id": "call_1", "content": "a cat on a mat"},
       {"role": "user", "content": [{"type": "text", "text": "And the mat?"}], "x_vendor_field": {"keep": true}}]""";

  @Test
  void messagesWithContentPartsAndToolCallsReachTheUpstreamUnchanged() throws Exception {
    var r = completions("{\"model\": \"mock\", \"messages\": " + RICH_MESSAGES + "}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode sent = dev.atrium.core.Json.MAPPER.readTree(RICH_MESSAGES);
    JsonNode upstream = dev.atrium.core.Json.MAPPER.readTree(mock.stats().lastRequestBody()).path("messages");
    assertThat(upstream).isEqualTo(sent);
  }

  @Test
  void aSessionKeepsTheUsersContentPartsAndSendsThemUnchangedOnLaterTurns() throws Exception {
    String sessionId = TestHttp.json(http.postJson("/v1/chat/sessions", "{}", "Authorization", "Bearer " + ALPHA_KEY))
        .path("id").asText();
    String first = "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Look: \"},"
        + " {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,AAAA\"}}],"
        + " \"x_vendor_field\": 1}]";
    assertThat(completions("{\"model\": \"mock\", \"messages\": " + first + "}", "x-session-id", sessionId)
        .statusCode()).isEqualTo(200);
    assertThat(completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"And now?\"}]}",
        "x-session-id", sessionId).statusCode()).isEqualTo(200);

    // The second call's context: the stored first message exactly as the client sent it.
    JsonNode upstream = dev.atrium.core.Json.MAPPER.readTree(mock.stats().lastRequestBody()).path("messages");
    assertThat(upstream.get(0)).isEqualTo(dev.atrium.core.Json.MAPPER.readTree(first).get(0));
    assertThat(upstream.get(upstream.size() - 1).path("content").asText()).isEqualTo("And now?");
  }

  @Test
  void neverForwardsClientHeadersUpstreamAndAnswersAnH2cUpgradeOverHttp11() throws Exception {
    // The JDK client on HTTP_2 over plain HTTP sends Connection: Upgrade, HTTP2-Settings and Upgrade: h2c.
    HttpClient h2c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    var r = h2c.send(HttpRequest.newBuilder(java.net.URI.create(
                "http://127.0.0.1:" + node.running.publicAddress().getPort() + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + ALPHA_KEY).header("Content-Type", "application/json")
            .header("x-client-secret", "do-not-forward")
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(mock.stats().lastRequestHeaders())
        .doesNotContain("upgrade", "http2-settings", "x-client-secret", "x-request-id")
        .allSatisfy(h -> assertThat(h).isNotEqualTo("connection"));
  }

  @Test
  void anUnknownModelIs404ModelNotFound() {
    var r = completions("{\"model\": \"gpt-9\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
    assertThat(r.statusCode()).isEqualTo(404);
    JsonNode error = TestHttp.json(r).path("error");
    assertThat(error.path("code").asText()).isEqualTo("model_not_found");
    assertThat(error.path("param").asText()).isEqualTo("model");
    assertThat(mock.stats().requests()).isZero();
  }

  @Test
  void badRequestsAre400InOpenAisShape() {
    for (String body : new String[] {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        "{\"model\": \"mock\", \"messages\": []}", "{\"model\": \"mock\", \"messages\": [{\"role\": \"wizard\"}]}",
        "[1, 2]", "{\"model\": "}) {
      var r = completions(body);
      assertThat(r.statusCode()).as(body).isEqualTo(400);
      assertThat(TestHttp.json(r).path("error").path("type").asText()).isEqualTo("invalid_request_error");
    }
    long before = mock.stats().requests();
    var badKey = completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        "Idempotency-Key", "x".repeat(256));
    assertThat(badKey.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(badKey).path("error").path("code").asText()).isEqualTo("invalid_idempotency_key");
    assertThat(mock.stats().requests()).isEqualTo(before);
    var tooLong = completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"" + "y".repeat(2500) + "\"}]}");
    assertThat(tooLong.statusCode()).isEqualTo(413);
    assertThat(TestHttp.json(tooLong).path("error").path("code").asText()).isEqualTo("payload_too_large");
  }

  @Test
  void upstreamFailuresBecomeOpenAiErrors() {
    mock.configure(MockLlm.Behaviour.defaults().failing(400, Integer.MAX_VALUE));
    var rejected = completions("{\"model\": \"mock\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
    assertThat(rejected.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(rejected).path("error").path("code").asText()).isEqualTo("upstream_rejected");
    assertThat(mock.stats().requests()).isEqualTo(1);

    mock.configure(MockLlm.Behaviour.defaults().failing(503, Integer.MAX_VALUE));
    mock.resetStats();
    var unavailable = completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
    assertThat(unavailable.statusCode()).isEqualTo(502);
    assertThat(TestHttp.json(unavailable).path("error").path("type").asText()).isEqualTo("server_error");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void modelsListsTheTenantsModels() {
    var r = http.get("/v1/models", "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(TestHttp.json(r).path("object").asText()).isEqualTo("list");
    assertThat(TestHttp.json(r).path("data").findValuesAsText("id")).containsExactly("local", "mock");
    assertThat(http.get("/v1/models/mock", "Authorization", "Bearer " + ALPHA_KEY).statusCode()).isEqualTo(200);
    var missing = http.get("/v1/models/gpt-9", "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(missing).path("error").path("code").asText()).isEqualTo("model_not_found");
    var unauthorized = http.get("/v1/models", "Authorization", "Bearer wrong");
    assertThat(TestHttp.json(unauthorized).path("error").path("code").asText()).isEqualTo("invalid_api_key");
  }

  @Test
  void xSessionIdMakesTheCallATurnOfThatSession() {
    var created = http.postJson("/v1/chat/sessions", "{\"system_prompt\": \"Session rules.\"}", "Authorization", "Bearer " + ALPHA_KEY);
    String sessionId = TestHttp.json(created).path("id").asText();

    var first = completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"first\"}]}",
        "x-session-id", sessionId);
    assertThat(first.statusCode()).isEqualTo(200);
    var second = completions("{\"model\": \"mock\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"second\"}]}",
        "x-session-id", sessionId);
    assertThat(second.body()).endsWith("data: [DONE]\n\n");
    // The stored history was the context of the second call.
    assertThat(mock.stats().lastRequestBody()).contains("Session rules.", "first", "second");

    JsonNode stored = TestHttp.json(http.get("/v1/chat/sessions/" + sessionId + "/messages", "Authorization", "Bearer " + ALPHA_KEY))
        .path("data");
    assertThat(stored.findValuesAsText("content"))
        .containsExactly("first", ChatApiTest.expectedText(8), "second", ChatApiTest.expectedText(8));

    var notLastUser = completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}",
        "x-session-id", sessionId);
    assertThat(notLastUser.statusCode()).isEqualTo(400);
    var foreign = completions("{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        "x-session-id", "s_nope");
    assertThat(foreign.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(foreign).path("error").path("code").asText()).isEqualTo("not_found");
  }
}
