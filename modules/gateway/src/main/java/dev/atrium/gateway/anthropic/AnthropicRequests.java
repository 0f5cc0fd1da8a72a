package dev.atrium.gateway.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.OpenAiMessages;
import dev.atrium.gateway.Tokens;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An Anthropic Messages request ({@code POST /v1/messages}, {@code /v1/messages/count_tokens})
 * in the canonical form: {@link ChatMessage}s and options with OpenAI's names, which every
 * provider reads. Nothing is dropped silently: a field, block or tool the gateway cannot
 * carry is a 400 naming it (Anthropic's API rejects unknown fields too), so a client never
 * believes a feature took effect that did not. Every error names the path as Anthropic's
 * do ({@code messages.2.content.0.type: ...}).
 *
 * <p>A {@code tool_result} becomes a {@code tool} message; {@code is_error: true} prefixes
 * its text with {@link #TOOL_ERROR_PREFIX} (an OpenAI tool message has no such flag, and
 * the prefix reaches the model whatever the upstream).
 */
public final class AnthropicRequests {
  /** What an erroneous tool result's text starts with upstream. */
  public static final String TOOL_ERROR_PREFIX = "Error: ";

  /** Fields of Anthropic's API the gateway does not carry: named in the 400. */
  public static final Set<String> UNSUPPORTED = Set.of("top_k", "thinking", "mcp_servers", "container",
      "context_management", "output_format", "output_config", "inference_geo");
  private static final Set<String> MESSAGE_FIELDS = Set.of("model", "max_tokens", "messages", "system", "stream",
      "temperature", "top_p", "stop_sequences", "tools", "tool_choice", "metadata", "service_tier");
  private static final Set<String> COUNT_FIELDS = Set.of("model", "messages", "system", "tools", "tool_choice");
  private static final Set<String> TOOL_FIELDS = Set.of("name", "description", "input_schema", "cache_control", "type");

  private AnthropicRequests() {}

  /**
   * A request in canonical form. {@code toolTokens}: what the tool definitions cost as
   * prompt tokens, counted once here.
   */
  public record Translated(String model, boolean stream, List<ChatMessage> messages, ObjectNode options,
      int toolTokens) {
    public Translated {
      messages = List.copyOf(messages);
    }

    /** The prompt's tokens as {@link Tokens} counts them: messages, their tool calls, the tools. */
    public int inputTokens() {
      int tokens = Tokens.countMessages(messages) + toolTokens;
      for (ChatMessage m : messages) {
        for (ChatMessage.ToolCall call : m.toolCalls()) {
          tokens += Tokens.count(call.name()) + Tokens.count(call.arguments());
        }
      }
      return tokens;
    }
  }

  /** A {@code POST /v1/messages} body. */
  public static Translated message(ObjectNode body) {
    checkFields(body, MESSAGE_FIELDS);
    ObjectNode options = Json.MAPPER.createObjectNode();
    JsonNode maxTokens = body.path("max_tokens");
    if (maxTokens.isMissingNode()) {
      throw invalid("max_tokens", "Field required");
    }
    if (!maxTokens.canConvertToInt() || !maxTokens.isIntegralNumber() || maxTokens.asInt() < 1) {
      throw invalid("max_tokens", "must be a positive integer");
    }
    options.put("max_tokens", maxTokens.asInt());
    number(body, "temperature", options);
    number(body, "top_p", options);
    JsonNode stop = body.path("stop_sequences");
    if (!stop.isMissingNode()) {
      if (!stop.isArray()) {
        throw invalid("stop_sequences", "must be an array of strings");
      }
      for (int i = 0; i < stop.size(); i++) {
        if (!stop.get(i).isTextual()) {
          throw invalid("stop_sequences." + i, "must be a string");
        }
      }
      options.set("stop", stop);
    }
    metadata(body.path("metadata"), options);
    JsonNode tier = body.path("service_tier");
    if (!tier.isMissingNode() && !"auto".equals(tier.asText(null))) {
      throw invalid("service_tier", "only \"auto\" is supported");
    }
    JsonNode stream = body.path("stream");
    if (!stream.isMissingNode() && !stream.isBoolean()) {
      throw invalid("stream", "must be a boolean");
    }
    return translate(body, options, stream.asBoolean(false));
  }

  /** A {@code POST /v1/messages/count_tokens} body: what a message would send, without its sampling fields. */
  public static Translated countTokens(ObjectNode body) {
    checkFields(body, COUNT_FIELDS);
    return translate(body, Json.MAPPER.createObjectNode(), false);
  }

  private static Translated translate(ObjectNode body, ObjectNode options, boolean stream) {
    JsonNode model = body.path("model");
    if (model.isMissingNode()) {
      throw invalid("model", "Field required");
    }
    if (!model.isTextual() || model.asText().isBlank()) {
      throw invalid("model", "must be a non-empty string");
    }
    List<ChatMessage> messages = new ArrayList<>();
    system(body.path("system"), messages);
    messages(body.path("messages"), messages);
    int toolTokens = tools(body.path("tools"), body.path("tool_choice"), options);
    return new Translated(model.asText(), stream, messages, options, toolTokens);
  }

  private static void checkFields(ObjectNode body, Set<String> allowed) {
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (UNSUPPORTED.contains(name)) {
        throw invalid(name, "not supported by this gateway");
      }
      if (!allowed.contains(name)) {
        throw invalid(name, "Extra inputs are not permitted");
      }
    }
  }

  private static void number(JsonNode body, String field, ObjectNode options) {
    JsonNode value = body.path(field);
    if (value.isMissingNode()) {
      return;
    }
    if (!value.isNumber()) {
      throw invalid(field, "must be a number");
    }
    options.set(field, value);
  }

  private static void metadata(JsonNode metadata, ObjectNode options) {
    if (metadata.isMissingNode() || metadata.isNull()) {
      return;
    }
    if (!metadata.isObject()) {
      throw invalid("metadata", "must be an object");
    }
    for (Iterator<Map.Entry<String, JsonNode>> fields = metadata.fields(); fields.hasNext(); ) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (!field.getKey().equals("user_id")) {
        throw invalid("metadata." + field.getKey(), "Extra inputs are not permitted");
      }
      if (field.getValue().isTextual()) {
        options.put("user", field.getValue().asText());
      } else if (!field.getValue().isNull()) {
        throw invalid("metadata.user_id", "must be a string");
      }
    }
  }

  /** {@code system}: a string or text blocks, the conversation's leading system message. */
  private static void system(JsonNode system, List<ChatMessage> messages) {
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

  private static void messages(JsonNode node, List<ChatMessage> messages) {
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

  /** {@code tools} in OpenAI's function shape, and {@code tool_choice}; returns the tools' token cost. */
  private static int tools(JsonNode tools, JsonNode choice, ObjectNode options) {
    int tokens = 0;
    if (!tools.isMissingNode()) {
      if (!tools.isArray()) {
        throw invalid("tools", "must be an array");
      }
      ArrayNode functions = options.putArray("tools");
      for (int i = 0; i < tools.size(); i++) {
        JsonNode tool = tools.get(i);
        String at = "tools." + i;
        String type = tool.path("type").asText("custom");
        if (!type.equals("custom")) {
          throw invalid(at + ".type", "server tools ('" + type + "') are not supported by this gateway");
        }
        for (Iterator<String> names = tool.fieldNames(); names.hasNext(); ) {
          String name = names.next();
          if (!TOOL_FIELDS.contains(name)) {
            throw invalid(at + "." + name, "Extra inputs are not permitted");
          }
        }
        // A breakpoint on a tool is checked, not forwarded: the system and messages' breakpoints cover the tools.
        cacheControl(tool, at);
        ObjectNode function = functions.addObject().put("type", "function").putObject("function");
        function.put("name", string(tool, "name", at));
        if (tool.has("description")) {
          function.put("description", string(tool, "description", at));
        }
        if (!tool.path("input_schema").isObject()) {
          throw invalid(at + ".input_schema", "must be a JSON schema object");
        }
        function.set("parameters", tool.get("input_schema"));
        tokens += Tokens.count(function.toString());
      }
    }
    toolChoice(choice, options);
    return tokens;
  }

  private static void toolChoice(JsonNode choice, ObjectNode options) {
    if (choice.isMissingNode() || choice.isNull()) {
      return;
    }
    if (!choice.isObject()) {
      throw invalid("tool_choice", "must be an object with a type");
    }
    String type = choice.path("type").asText("");
    switch (type) {
      case "auto" -> options.put("tool_choice", "auto");
      case "any" -> options.put("tool_choice", "required");
      case "none" -> options.put("tool_choice", "none");
      case "tool" -> options.putObject("tool_choice").put("type", "function").putObject("function")
          .put("name", string(choice, "name", "tool_choice"));
      default -> throw invalid("tool_choice.type", "must be one of auto, any, tool, none");
    }
    JsonNode disable = choice.path("disable_parallel_tool_use");
    if (!disable.isMissingNode() && !disable.isBoolean()) {
      throw invalid("tool_choice.disable_parallel_tool_use", "must be a boolean");
    }
    if (disable.asBoolean(false) && options.has("tools")) {
      options.put("parallel_tool_calls", false);
    }
  }

  private static String string(JsonNode node, String field, String at) {
    JsonNode value = node.path(field);
    if (!value.isTextual()) {
      throw invalid(at + "." + field, value.isMissingNode() ? "Field required" : "must be a string");
    }
    return value.asText();
  }

  private static ChatMessage.CacheControl cacheControl(JsonNode block, String at) {
    try {
      return OpenAiMessages.cacheControl(block.path("cache_control"));
    } catch (IllegalArgumentException e) {
      throw invalid(at + ".cache_control", e.getMessage());
    }
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

  private static ApiError invalid(String path, String message) {
    return ApiError.badRequest("invalid_request", path + ": " + message).withExtension("param", path);
  }
}
