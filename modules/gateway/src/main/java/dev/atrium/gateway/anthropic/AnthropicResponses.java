package dev.atrium.gateway.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import java.util.UUID;

/**
 * A whole answer as Anthropic's Messages API returns one: a {@code message} with a text
 * block and a {@code tool_use} block per tool call, the stop reason and usage.
 */
public final class AnthropicResponses {
  private AnthropicResponses() {}

  /** A message id in Anthropic's form. */
  public static String newId() {
    return "msg_" + UUID.randomUUID().toString().replace("-", "");
  }

  public static ObjectNode message(String id, String model, ChatMessage answer, String finishReason,
      ChatEvent.Usage usage) {
    ObjectNode json = head(id, model);
    ArrayNode content = json.putArray("content");
    if (!answer.text().isEmpty() || answer.toolCalls().isEmpty()) {
      content.addObject().put("type", "text").put("text", answer.text());
    }
    for (ChatMessage.ToolCall call : answer.toolCalls()) {
      ObjectNode block = content.addObject().put("type", "tool_use").put("id", call.id()).put("name", call.name());
      block.set("input", input(call.arguments()));
    }
    json.put("stop_reason", AnthropicStopReasons.toAnthropic(finishReason));
    json.putNull("stop_sequence");
    json.set("usage", usage(usage));
    return json;
  }

  /** What every message starts with: its id, type, role and model. */
  static ObjectNode head(String id, String model) {
    return Json.MAPPER.createObjectNode().put("id", id).put("type", "message").put("role", "assistant")
        .put("model", model);
  }

  /**
   * Usage in Anthropic's terms: {@code input_tokens} are the prompt's tokens neither read
   * from nor written to the provider's prompt cache (the canonical prompt tokens count the
   * whole prompt, Anthropic counts those apart), {@code cache_read_input_tokens} and
   * {@code cache_creation_input_tokens} the others, each when there were any.
   */
  static ObjectNode usage(ChatEvent.Usage usage) {
    ObjectNode json = Json.MAPPER.createObjectNode()
        .put("input_tokens",
            Math.max(0, usage.promptTokens() - usage.cachedPromptTokens() - usage.cacheWritePromptTokens()))
        .put("output_tokens", usage.completionTokens());
    if (usage.cacheWritePromptTokens() > 0) {
      json.put("cache_creation_input_tokens", usage.cacheWritePromptTokens());
    }
    if (usage.cachedPromptTokens() > 0) {
      json.put("cache_read_input_tokens", usage.cachedPromptTokens());
    }
    return json;
  }

  /**
   * A tool call's arguments as the block's {@code input} object. Arguments that are not a
   * JSON object (a model's malformed output) are kept whole as {@code {"arguments": text}}.
   */
  static JsonNode input(String arguments) {
    if (arguments == null || arguments.isBlank()) {
      return Json.MAPPER.createObjectNode();
    }
    try {
      JsonNode parsed = Json.MAPPER.readTree(arguments);
      if (parsed != null && parsed.isObject()) {
        return parsed;
      }
    } catch (JsonProcessingException e) {
      // kept whole below
    }
    return Json.MAPPER.createObjectNode().put("arguments", arguments);
  }
}
