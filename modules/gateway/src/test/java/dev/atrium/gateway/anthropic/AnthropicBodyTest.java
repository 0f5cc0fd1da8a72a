package dev.atrium.gateway.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.OpenAiMessages;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.ProviderException;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The canonical request (OpenAI's chat format) written as Anthropic's Messages request. */
class AnthropicBodyTest {

  static JsonNode json(String s) {
    try {
      return Json.MAPPER.readTree(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static ObjectNode options(String s) {
    return (ObjectNode) json(s);
  }

  /** Messages as a client of the OpenAI door sends them. */
  static List<ChatMessage> messages(String array) {
    return java.util.stream.StreamSupport.stream(json(array).spliterator(), false).map(OpenAiMessages::read).toList();
  }

  static JsonNode body(ChatRequest request, boolean stream) {
    return json(new String(AnthropicBody.write(request, stream), java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void systemMessagesAndPassagesAreSystemBlocksWithTheirCacheHints() {
    var request = new ChatRequest("claude-x", messages("""
        [{"role": "system", "content": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
         {"role": "developer", "content": "No lists."},
         {"role": "user", "content": "Hi"}]"""), null,
        List.of(new Passage(1, "d1", "c1", "src", "Paris is in France.", 0.9)));
    JsonNode body = body(request, false);
    assertThat(body.path("model").asText()).isEqualTo("claude-x");
    assertThat(body.path("max_tokens").asInt()).isEqualTo(AnthropicBody.DEFAULT_MAX_TOKENS);
    assertThat(body.has("stream")).isFalse();
    JsonNode system = body.path("system");
    assertThat(system).hasSize(3);
    assertThat(system.path(0).path("text").asText()).isEqualTo("Be brief.");
    assertThat(system.path(0).path("cache_control")).isEqualTo(json("{\"type\": \"ephemeral\", \"ttl\": \"1h\"}"));
    assertThat(system.path(1).path("text").asText()).contains("Paris is in France.");
    assertThat(system.path(1).has("cache_control")).isFalse();
    assertThat(system.path(2).path("text").asText()).isEqualTo("No lists.");
    assertThat(body.path("messages")).isEqualTo(json("""
        [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]"""));
  }

  @Test
  void toolCallsAndToolResultsBecomeBlocksAndConsecutiveTurnsMerge() {
    var request = new ChatRequest("m", messages("""
        [{"role": "user", "content": "Weather in Paris and Rome?"},
         {"role": "user", "content": [{"type": "text", "text": "Quickly."},
                                      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                                      {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}}],
          "cache_control": {"type": "ephemeral"}},
         {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\\"city\\": \\"Paris\\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": ""}}]},
         {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
         {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "21C"}]},
         {"role": "user", "content": "Thanks"},
         {"role": "assistant", "content": "You're welcome."}]"""), options("{\"max_tokens\": 100}"));
    JsonNode body = body(request, true);
    assertThat(body.path("stream").asBoolean()).isTrue();
    assertThat(body.path("max_tokens").asInt()).isEqualTo(100);
    assertThat(body.path("messages")).isEqualTo(json("""
        [{"role": "user", "content": [
            {"type": "text", "text": "Weather in Paris and Rome?"},
            {"type": "text", "text": "Quickly."},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.test/a.png"},
             "cache_control": {"type": "ephemeral"}}]},
         {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "weather", "input": {}}]},
         {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "21C"}]},
            {"type": "text", "text": "Thanks"}]},
         {"role": "assistant", "content": [{"type": "text", "text": "You're welcome."}]}]"""));
  }

  @Test
  void optionsAreMappedToAnthropicsNames() {
    var request = new ChatRequest("m", List.of(ChatMessage.user("Hi")), options("""
        {"max_tokens": 50, "max_completion_tokens": 70, "temperature": 0.2, "top_p": 0.9, "stop": "END",
         "user": "u-1", "parallel_tool_calls": false, "n": 1, "logprobs": false, "seed": null,
         "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather of a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
                   {"type": "function", "function": {"name": "now"}}],
         "tool_choice": {"type": "function", "function": {"name": "weather"}}}"""));
    JsonNode body = body(request, false);
    assertThat(body.path("max_tokens").asInt()).isEqualTo(70);
    assertThat(body.path("temperature").asDouble()).isEqualTo(0.2);
    assertThat(body.path("top_p").asDouble()).isEqualTo(0.9);
    assertThat(body.path("stop_sequences")).isEqualTo(json("[\"END\"]"));
    assertThat(body.path("metadata")).isEqualTo(json("{\"user_id\": \"u-1\"}"));
    assertThat(body.path("tools")).isEqualTo(json("""
        [{"name": "weather", "description": "Weather of a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
         {"name": "now", "input_schema": {"type": "object"}}]"""));
    assertThat(body.path("tool_choice")).isEqualTo(json("""
        {"type": "tool", "name": "weather", "disable_parallel_tool_use": true}"""));
    for (String field : List.of("n", "logprobs", "seed", "user", "parallel_tool_calls", "stop")) {
      assertThat(body.has(field)).as(field).isFalse();
    }
  }

  @Test
  void toolChoiceStrings() {
    for (var c : List.of(List.of("auto", "auto"), List.of("required", "any"), List.of("none", "none"))) {
      JsonNode body = body(new ChatRequest("m", List.of(ChatMessage.user("Hi")), options("""
          {"stop": ["a", "b"], "tool_choice": "%s",
           "tools": [{"type": "function", "function": {"name": "f"}}]}""".formatted(c.get(0)))), false);
      assertThat(body.path("tool_choice")).isEqualTo(json("{\"type\": \"" + c.get(1) + "\"}"));
      assertThat(body.path("stop_sequences")).isEqualTo(json("[\"a\", \"b\"]"));
    }
  }

  @Test
  void anOptionAnthropicCannotTakeIsA400NamingIt() {
    for (String option : List.of("{\"logit_bias\": {\"50256\": -100}}", "{\"n\": 2}", "{\"logprobs\": true}",
        "{\"seed\": 7}", "{\"presence_penalty\": 0.5}", "{\"frequency_penalty\": 0.5}",
        "{\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {}}}", "{\"reasoning_effort\": \"low\"}")) {
      String name = json(option).fieldNames().next();
      assertThatThrownBy(() -> AnthropicBody.write(new ChatRequest("m", List.of(ChatMessage.user("Hi")),
          options(option)), false))
          .isInstanceOfSatisfying(ProviderException.class, e -> {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.retryable()).isFalse();
            assertThat(e.code()).isEqualTo("unsupported_parameter");
            assertThat(e.getMessage()).contains("'" + name + "'");
          });
    }
  }

  @Test
  void partsAndArgumentsAnthropicCannotTakeAre400sNamingWhere() {
    assertThatThrownBy(() -> AnthropicBody.write(new ChatRequest("m", messages("""
        [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]"""),
        null), false))
        .isInstanceOfSatisfying(ProviderException.class,
            e -> assertThat(e.getMessage()).contains("messages[0].content[0].type"));
    assertThatThrownBy(() -> AnthropicBody.write(new ChatRequest("m", messages("""
        [{"role": "user", "content": "Hi"},
         {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                               "function": {"name": "f", "arguments": "[1]"}}]}]"""),
        null), false))
        .isInstanceOfSatisfying(ProviderException.class,
            e -> assertThat(e.getMessage()).contains("messages[1].tool_calls[0].function.arguments"));
  }
}
