package dev.atrium.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.atrium.core.Json;
import dev.atrium.testkit.MockLlm.Behaviour;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The mock's Anthropic Messages side: credentials, a message, a stream of every event type, prompt caching, failures. */
class MockLlmAnthropicTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(ConfigFactory.parseString("pekko.actor.provider = local"));
  private static final String[] HEADERS = {"x-api-key", "sk-ant-mock", "anthropic-version", "2023-06-01"};

  private MockLlm mock;
  private TestHttp http;

  @BeforeEach
  void startMock() {
    mock = MockLlm.start(testKit.system(), "127.0.0.1", 0);
    http = new TestHttp("127.0.0.1", mock.port());
  }

  @AfterEach
  void closeMock() {
    mock.close();
  }

  @AfterAll
  static void shutDown() {
    testKit.shutdownTestKit();
  }

  static String body(boolean stream, String extra) {
    return """
        {"model": "claude-test", "max_tokens": 100, "stream": %s%s,
         "system": [{"type": "text", "text": "one two three", "cache_control": {"type": "ephemeral"}}],
         "messages": [{"role": "user", "content": "four five"}]}""".formatted(stream, extra);
  }

  static JsonNode json(String s) {
    try {
      return Json.MAPPER.readTree(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void refusesACallWithoutAKeyOrAVersionAsARealServerDoes() {
    HttpResponse<String> noKey = http.postJson("/v1/messages", body(false, ""), "anthropic-version", "2023-06-01");
    assertThat(noKey.statusCode()).isEqualTo(401);
    assertThat(TestHttp.json(noKey).path("error").path("type").asText()).isEqualTo("authentication_error");
    HttpResponse<String> noVersion = http.postJson("/v1/messages", body(false, ""), "x-api-key", "sk-ant-mock");
    assertThat(noVersion.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(noVersion).path("type").asText()).isEqualTo("error");
    HttpResponse<String> noMaxTokens = http.postJson("/v1/messages",
        "{\"model\": \"m\", \"messages\": []}", HEADERS);
    assertThat(noMaxTokens.statusCode()).isEqualTo(400);
    assertThat(mock.authorizations()).containsExactly("", "sk-ant-mock", "sk-ant-mock");
  }

  @Test
  void answersAMessageWritingThePromptCacheThenReadingIt() {
    HttpResponse<String> first = http.postJson("/v1/messages", body(false, ""), HEADERS);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    JsonNode message = TestHttp.json(first);
    assertThat(message.path("type").asText()).isEqualTo("message");
    assertThat(message.path("content")).isEqualTo(json("[{\"type\": \"text\", \"text\": \"t0 t1 t2 t3 t4 t5 t6 t7 \"}]"));
    assertThat(message.path("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(message.path("usage")).isEqualTo(json("""
        {"input_tokens": 2, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 0, "output_tokens": 8}"""));
    JsonNode again = TestHttp.json(http.postJson("/v1/messages", body(false, ""), HEADERS)).path("usage");
    assertThat(again.path("cache_creation_input_tokens").asInt()).isZero();
    assertThat(again.path("cache_read_input_tokens").asInt()).isEqualTo(3);
    mock.resetStats();
    JsonNode afterReset = TestHttp.json(http.postJson("/v1/messages", body(false, ""), HEADERS)).path("usage");
    assertThat(afterReset.path("cache_creation_input_tokens").asInt()).isEqualTo(3);
  }

  /** The SSE events of a body: each {@code event:} name with its data's JSON. */
  static List<String> names(String body, List<JsonNode> data) {
    List<String> names = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      for (String line : block.split("\n")) {
        if (line.startsWith("event: ")) {
          names.add(line.substring(7));
        } else if (line.startsWith("data: ")) {
          data.add(json(line.substring(6)));
        }
      }
    }
    return names;
  }

  @Test
  void streamsEveryEventTypeAndAToolCallWhenToldTo() {
    mock.configure(Behaviour.defaults().withChunks(2));
    HttpResponse<String> text = http.postJson("/v1/messages", body(true, ""), HEADERS);
    List<JsonNode> data = new ArrayList<>();
    assertThat(names(text.body(), data)).containsExactly("message_start", "content_block_start", "ping",
        "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop");
    assertThat(data.get(0).path("message").path("usage").path("cache_creation_input_tokens").asInt()).isEqualTo(3);
    assertThat(data.get(3).path("delta")).isEqualTo(json("{\"type\": \"text_delta\", \"text\": \"t0 \"}"));
    assertThat(data.get(6).path("delta").path("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(data.get(6).path("usage").path("output_tokens").asInt()).isEqualTo(2);
    assertThat(mock.stats().streamsCompleted()).isEqualTo(1);

    HttpResponse<String> tool = http.postJson("/v1/messages", body(true, """
        , "tools": [{"name": "lookup", "input_schema": {"type": "object"}}], "tool_choice": {"type": "any"}"""),
        HEADERS);
    data.clear();
    names(tool.body(), data);
    assertThat(data.get(1).path("content_block")).isEqualTo(json("""
        {"type": "tool_use", "id": "toolu_mock_1", "name": "lookup", "input": {}}"""));
    String arguments = data.get(3).path("delta").path("partial_json").asText()
        + data.get(4).path("delta").path("partial_json").asText();
    assertThat(json(arguments)).isEqualTo(json("{\"q\": \"t0 t1\"}"));
    assertThat(data.get(6).path("delta").path("stop_reason").asText()).isEqualTo("tool_use");
  }

  @Test
  void failsAsConfiguredInAnthropicsErrorShape() {
    mock.configure(Behaviour.defaults().failing(529, 1));
    HttpResponse<String> overloaded = http.postJson("/v1/messages", body(false, ""), HEADERS);
    assertThat(overloaded.statusCode()).isEqualTo(529);
    assertThat(TestHttp.json(overloaded).path("error").path("type").asText()).isEqualTo("overloaded_error");
    assertThat(http.postJson("/v1/messages", body(false, ""), HEADERS).statusCode()).isEqualTo(200);
  }
}
