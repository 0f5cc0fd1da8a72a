package dev.atrium.gateway.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.OpenAiMessages;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Anthropic Messages requests in the canonical form, and the 400s for what cannot be carried. */
class AnthropicRequestsTest {

  static ObjectNode body(String json) throws Exception {
    return (ObjectNode) Json.MAPPER.readTree(json);
  }

  @Test
  void mapsSamplingFieldsToolsAndToolChoiceToOpenAisNames() throws Exception {
    var t = AnthropicRequests.message(body("""
        {"model": "m", "max_tokens": 64, "stream": true, "temperature": 0.5, "top_p": 0.9,
         "stop_sequences": ["END"], "metadata": {"user_id": "u1"}, "service_tier": "auto",
         "tools": [{"name": "lookup", "description": "d", "input_schema": {"type": "object"},
                    "cache_control": {"type": "ephemeral"}}],
         "tool_choice": {"type": "tool", "name": "lookup", "disable_parallel_tool_use": true},
         "messages": [{"role": "user", "content": "hi"}]}"""));
    assertThat(t.model()).isEqualTo("m");
    assertThat(t.stream()).isTrue();
    assertThat(t.options()).isEqualTo(Json.MAPPER.readTree("""
        {"max_tokens": 64, "temperature": 0.5, "top_p": 0.9, "stop": ["END"], "user": "u1",
         "tools": [{"type": "function", "function": {"name": "lookup", "description": "d",
                    "parameters": {"type": "object"}}}],
         "tool_choice": {"type": "function", "function": {"name": "lookup"}}, "parallel_tool_calls": false}"""));
    assertThat(t.messages()).containsExactly(ChatMessage.user("hi"));
    assertThat(t.toolTokens()).isPositive();
    assertThat(t.inputTokens()).isGreaterThan(t.toolTokens());
    for (String[] choice : new String[][] {{"auto", "auto"}, {"any", "required"}, {"none", "none"}}) {
      var mapped = AnthropicRequests.message(body("{\"model\": \"m\", \"max_tokens\": 1, \"tool_choice\": {\"type\": \""
          + choice[0] + "\"}, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}"));
      assertThat(mapped.options().path("tool_choice").asText()).isEqualTo(choice[1]);
      assertThat(mapped.options().has("parallel_tool_calls")).isFalse();
    }
  }

  @Test
  void systemBlocksImagesToolUsesAndToolResultsBecomeCanonicalMessages() throws Exception {
    var t = AnthropicRequests.message(body("""
        {"model": "m", "max_tokens": 10,
         "system": [{"type": "text", "text": "A. "}, {"type": "text", "text": "B.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
         "messages": [
           {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://img/x.png"}},
                                        {"type": "text", "text": "what?", "cache_control": {"type": "ephemeral"}}]},
           {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "see", "input": {"a": [1]}}]},
           {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "fine"},
                                        {"type": "tool_result", "tool_use_id": "t2", "is_error": true}]}]}"""));
    List<ChatMessage> m = t.messages();
    assertThat(m).hasSize(5);
    assertThat(m.get(0).role()).isEqualTo("system");
    assertThat(m.get(0).text()).isEqualTo("A. B.");
    assertThat(m.get(0).cacheControl()).isEqualTo(new ChatMessage.CacheControl("ephemeral", "1h"));
    assertThat(OpenAiMessages.toJson(m.get(1))).isEqualTo(Json.MAPPER.readTree("""
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://img/x.png"}},
                                     {"type": "text", "text": "what?"}]}"""));
    assertThat(m.get(1).text()).isEqualTo("what?");
    assertThat(m.get(1).cacheControl()).isEqualTo(new ChatMessage.CacheControl("ephemeral", null));
    assertThat(m.get(2).content()).isNull();
    assertThat(m.get(2).toolCalls()).containsExactly(new ChatMessage.ToolCall("t1", "function", "see", "{\"a\":[1]}"));
    assertThat(m.get(3)).isEqualTo(new ChatMessage("tool", "fine", null, List.of(), "t1", null));
    assertThat(m.get(4)).isEqualTo(new ChatMessage("tool", AnthropicContent.TOOL_ERROR_PREFIX, null, List.of(), "t2", null));
  }

  @Test
  void whatCannotBeCarriedIsA400NamingThePath() {
    String ok = "\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]";
    assertInvalid("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "max_tokens: Field required");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 0, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        "max_tokens: must be a positive integer");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 2.5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        "max_tokens: must be a positive integer");
    assertInvalid("{\"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "model: Field required");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": []}", "messages: must be a non-empty array");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": []}]}",
        "messages.0.content: must be a string or a non-empty array");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": []}]}",
        "messages.0.content: must be a string or a non-empty array");
    for (String field : AnthropicRequests.UNSUPPORTED) {
      assertInvalid("{" + ok + ", \"" + field + "\": {}}", field + ": not supported");
    }
    assertInvalid("{" + ok + ", \"n\": 2}", "n: Extra inputs are not permitted");
    assertInvalid("{" + ok + ", \"service_tier\": \"priority\"}", "service_tier:");
    assertInvalid("{" + ok + ", \"metadata\": {\"team\": \"x\"}}", "metadata.team: Extra inputs");
    assertInvalid("{" + ok + ", \"tools\": [{\"type\": \"bash_20250124\", \"name\": \"bash\"}]}",
        "tools.0.type: server tools ('bash_20250124')");
    assertInvalid("{" + ok + ", \"tools\": [{\"name\": \"t\"}]}", "tools.0.input_schema:");
    assertInvalid("{" + ok + ", \"tool_choice\": {\"type\": \"sometimes\"}}", "tool_choice.type:");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"},"
        + " {\"role\": \"assistant\", \"content\": [{\"type\": \"thinking\", \"thinking\": \"...\"}]}]}",
        "messages.1.content.0.type: content blocks of type 'thinking'");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"assistant\","
        + " \"content\": [{\"type\": \"tool_result\", \"tool_use_id\": \"x\"}]}]}", "messages.0.content.0.type: tool_result");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\","
        + " \"content\": [{\"type\": \"text\", \"text\": \"x\", \"cache_control\": \"yes\"}]}]}",
        "messages.0.content.0.cache_control: cache_control must be an object");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\","
        + " \"content\": [{\"type\": \"image\", \"source\": {\"type\": \"file\", \"file_id\": \"f\"}}]}]}",
        "messages.0.content.0.source.type: must be base64 or url");
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"x\", \"name\": \"n\"}]}",
        "messages.0.name: Extra inputs");
  }

  @Test
  void countTokensTakesNoSamplingFields() throws Exception {
    var counted = AnthropicRequests.countTokens(body(
        "{\"model\": \"m\", \"system\": \"be brief\", \"messages\": [{\"role\": \"user\", \"content\": \"hello there\"}]}"));
    var without = AnthropicRequests.countTokens(body(
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hello there\"}]}"));
    assertThat(counted.inputTokens()).isGreaterThan(without.inputTokens());
    assertInvalid("{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        true, "max_tokens: Extra inputs");
  }

  private static void assertInvalid(String json, String message) {
    assertInvalid(json, false, message);
  }

  private static void assertInvalid(String json, boolean count, String message) {
    assertThatThrownBy(() -> {
      if (count) {
        AnthropicRequests.countTokens(body(json));
      } else {
        AnthropicRequests.message(body(json));
      }
    }).as(json).isInstanceOfSatisfying(ApiError.class, e -> {
      assertThat(e.status().intValue()).isEqualTo(400);
      assertThat(e.getMessage()).startsWith(message);
    });
  }
}
