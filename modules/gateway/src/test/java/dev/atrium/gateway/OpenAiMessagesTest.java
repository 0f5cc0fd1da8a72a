package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

/** OpenAI message objects read into {@link ChatMessage} and written back: nothing is lost on the way. */
class OpenAiMessagesTest {

  static JsonNode json(String text) throws Exception {
    return Json.MAPPER.readTree(text);
  }

  @Test
  void contentPartsToolCallsAndUnknownFieldsSurviveReadAndWrite() throws Exception {
    List<String> messages = List.of(
        "{\"role\":\"system\",\"content\":\"Be brief.\",\"name\":\"policy\"}",
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in \"},"
            + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\",\"detail\":\"low\"}},"
            + "{\"type\":\"text\",\"text\":\"this picture?\",\"cache_control\":{\"type\":\"ephemeral\"}}]}",
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
            + "\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\\\"cat\\\"}\"}}],\"refusal\":null}",
        "{\"role\":\"tool\",\"content\":\"a cat\",\"tool_call_id\":\"call_1\"}",
        "{\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
            + "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"},\"index\":0}],\"audio\":{\"id\":\"a1\"}}");
    for (String text : messages) {
      ChatMessage message = OpenAiMessages.read(json(text));
      assertThat(OpenAiMessages.toJson(message)).as(text).isEqualTo(json(text));
    }
  }

  @Test
  void theTypedCoreIsFilledFromTheWire() throws Exception {
    ChatMessage parts = OpenAiMessages.read(json("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}},{\"type\":\"text\",\"text\":\"b\"}]}"));
    assertThat(parts.content()).isEqualTo("ab");
    assertThat(parts.extra().get("content").isArray()).isTrue();

    ChatMessage call = OpenAiMessages.read(json("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
        + "\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{}\"}}]}"));
    assertThat(call.content()).isNull();
    assertThat(call.toolCalls()).containsExactly(new ChatMessage.ToolCall("c1", "function", "lookup", "{}"));
    assertThat(call.extra()).isNull();

    ChatMessage tool = OpenAiMessages.read(json("{\"role\":\"tool\",\"content\":\"r\",\"tool_call_id\":\"c1\"}"));
    assertThat(tool.toolCallId()).isEqualTo("c1");
    assertThat(Tokens.countMessage(parts)).isEqualTo(Tokens.countMessages(List.of(parts)) - Tokens.prompt(0));
  }

  @Test
  void passagesTravelInTheRequestAndBecomeOneSystemMessageAfterTheSessionsOwn() {
    Passage passage = new Passage(1, "d", "c", "handbook.md", "Refunds take 5 days.", 0.9);
    ChatRequest request = new ChatRequest("m", List.of(ChatMessage.system("Be brief."), ChatMessage.user("Refunds?")),
        null, List.of(passage));
    assertThat(request.promptMessages()).extracting(ChatMessage::role).containsExactly("system", "system", "user");
    assertThat(request.promptMessages().get(1).content()).contains("[1] (handbook.md) Refunds take 5 days.");
    assertThat(request.messages()).hasSize(2);

    ChatRequest bare = new ChatRequest("m", List.of(ChatMessage.user("Refunds?")), null, List.of(passage));
    assertThat(bare.promptMessages()).extracting(ChatMessage::role).containsExactly("system", "user");
  }
}
