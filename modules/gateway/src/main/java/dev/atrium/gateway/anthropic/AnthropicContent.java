package dev.atrium.gateway.anthropic;

import static dev.atrium.gateway.anthropic.AnthropicRequests.cacheControl;
import static dev.atrium.gateway.anthropic.AnthropicRequests.invalid;
import static dev.atrium.gateway.anthropic.AnthropicRequests.string;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatMessage;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * An Anthropic request's {@code system} and {@code messages} as canonical messages: text and
 * image blocks as OpenAI content parts, {@code tool_use} blocks as an assistant's tool
 * calls, each {@code tool_result} as a {@code tool} message; any other block type is a 400
 * naming it. {@code is_error: true} on a tool result prefixes its text with
 * {@link #TOOL_ERROR_PREFIX} (an OpenAI tool message has no such flag, and the prefix
 * reaches the model whatever the upstream).
 */
final class AnthropicContent {
  /** What an erroneous tool result's text starts with upstream. */
  static final String TOOL_ERROR_PREFIX = "Error: ";

  private AnthropicContent() {}

  /** {@code system}: a string or text blocks, the conversation's leading system message. */
  static void system(JsonNode system, List<ChatMessage> messages) {
    if (system.isMissingNode() || system.isNull()) {
      return;
    }
    if (system.isTextual()) {
      messages.add(ChatMessage.system(system.asText()));
      return;
    }
    if (!system.isArray()) {
      throw invalid("system", "must be a string or an array of text blocks");
    }
    Parts parts = new Parts();
    for (int i = 0; i < system.size(); i++) {
      JsonNode block = system.get(i);
      String path = "system." + i;
      if (!"text".equals(block.path("type").asText(null))) {
        throw invalid(path + ".type", "system blocks must be of type text");
      }
      parts.text(block, path);
    }
    messages.add(parts.message("system", List.of()));
  }

  static void messages(JsonNode node, List<ChatMessage> messages) {
    if (node.isMissingNode()) {
      throw invalid("messages", "Field required");
    }
    if (!node.isArray() || node.isEmpty()) {
      throw invalid("messages", "must be a non-empty array");
    }
    for (int i = 0; i < node.size(); i++) {
      JsonNode m = node.get(i);
      String path = "messages." + i;
      if (!m.isObject()) {
        throw invalid(path, "must be an object");
      }
      for (Iterator<String> names = m.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!name.equals("role") && !name.equals("content")) {
          throw invalid(path + "." + name, "Extra inputs are not permitted");
        }
      }
      String role = m.path("role").asText("");
      if (!role.equals("user") && !role.equals("assistant")) {
        throw invalid(path + ".role", "must be \"user\" or \"assistant\"");
      }
      JsonNode content = m.path("content");
      if (content.isTextual()) {
        messages.add(ChatMessage.of(role, content.asText()));
      } else if (content.isArray() && !content.isEmpty()) {
        blocks(role, content, path + ".content", messages);
      } else {
        throw invalid(path + ".content", "must be a string or a non-empty array of content blocks");
      }
    }
  }

  /**
   * A message's content blocks: a user's {@code tool_result}s become {@code tool} messages
   * ahead of its other blocks (Anthropic puts them first, OpenAI answers each call with
   * its own message); an assistant's {@code tool_use}s become its tool calls.
   */
  private static void blocks(String role, JsonNode content, String path, List<ChatMessage> messages) {
    Parts parts = new Parts();
    List<ChatMessage.ToolCall> calls = new ArrayList<>();
    for (int j = 0; j < content.size(); j++) {
      JsonNode block = content.get(j);
      String at = path + "." + j;
      if (!block.isObject()) {
        throw invalid(at, "must be a content block object");
      }
      String type = block.path("type").asText("");
      switch (type) {
        case "text" -> parts.text(block, at);
        case "image" -> {
          if (!role.equals("user")) {
            throw invalid(at + ".type", "image blocks belong in user messages");
          }
          parts.image(block, at);
        }
        case "tool_use" -> {
          if (!role.equals("assistant")) {
            throw invalid(at + ".type", "tool_use blocks belong in assistant messages");
          }
          calls.add(toolUse(block, at));
        }
        case "tool_result" -> {
          if (!role.equals("user")) {
            throw invalid(at + ".type", "tool_result blocks belong in user messages");
          }
          messages.add(toolResult(block, at));
        }
        default -> throw invalid(at + ".type", type.isEmpty() ? "a content block needs a type"
            : "content blocks of type '" + type + "' are not supported by this gateway");
      }
    }
    if (!parts.isEmpty() || !calls.isEmpty()) {
      messages.add(parts.message(role, calls));
    }
  }

  private static ChatMessage.ToolCall toolUse(JsonNode block, String at) {
    String id = string(block, "id", at);
    String name = string(block, "name", at);
    JsonNode input = block.path("input");
    if (!input.isObject()) {
      throw invalid(at + ".input", "must be an object");
    }
    return new ChatMessage.ToolCall(id, "function", name, input.toString());
  }

  private static ChatMessage toolResult(JsonNode block, String at) {
    String id = string(block, "tool_use_id", at);
    JsonNode content = block.path("content");
    StringBuilder text = new StringBuilder();
    if (content.isTextual()) {
      text.append(content.asText());
    } else if (content.isArray()) {
      for (int k = 0; k < content.size(); k++) {
        JsonNode part = content.get(k);
        if (!"text".equals(part.path("type").asText(null))) {
          throw invalid(at + ".content." + k + ".type", "tool results carry text blocks only here");
        }
        text.append(string(part, "text", at + ".content." + k));
      }
    } else if (!content.isMissingNode()) {
      throw invalid(at + ".content", "must be a string or an array of text blocks");
    }
    JsonNode isError = block.path("is_error");
    if (!isError.isMissingNode() && !isError.isBoolean()) {
      throw invalid(at + ".is_error", "must be a boolean");
    }
    String result = isError.asBoolean(false) ? TOOL_ERROR_PREFIX + text : text.toString();
    return new ChatMessage("tool", result, null, List.of(), id, null, cacheControl(block, at));
  }

  /**
   * The text and image blocks of one message, as OpenAI content parts: a lone text block is
   * the plain content string. The last block's {@code cache_control} (Anthropic marks the
   * end of the cached prefix) is the message's.
   */
  private static final class Parts {
    private final ArrayNode parts = Json.MAPPER.createArrayNode();
    private final StringBuilder text = new StringBuilder();
    private boolean images;
    private ChatMessage.CacheControl cacheControl;

    void text(JsonNode block, String at) {
      String value = string(block, "text", at);
      text.append(value);
      parts.addObject().put("type", "text").put("text", value);
      mark(block, at);
    }

    void image(JsonNode block, String at) {
      JsonNode source = block.path("source");
      String url = switch (source.path("type").asText("")) {
        case "base64" -> "data:" + string(source, "media_type", at + ".source") + ";base64,"
            + string(source, "data", at + ".source");
        case "url" -> string(source, "url", at + ".source");
        default -> throw invalid(at + ".source.type", "must be base64 or url");
      };
      parts.addObject().put("type", "image_url").putObject("image_url").put("url", url);
      images = true;
      mark(block, at);
    }

    private void mark(JsonNode block, String at) {
      ChatMessage.CacheControl hint = cacheControl(block, at);
      if (hint != null) {
        cacheControl = hint;
      }
    }

    boolean isEmpty() {
      return parts.isEmpty();
    }

    ChatMessage message(String role, List<ChatMessage.ToolCall> calls) {
      ObjectNode extra = null;
      if (images || parts.size() > 1) {
        extra = Json.MAPPER.createObjectNode();
        extra.set("content", parts);
      }
      String content = parts.isEmpty() && role.equals("assistant") ? null : text.toString();
      return new ChatMessage(role, content, null, calls, null, extra, cacheControl);
    }
  }
}
