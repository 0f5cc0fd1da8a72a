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
 * <p>The top-level fields, the tools and the tool choice are read here; {@code system} and
 * the messages' content blocks by {@link AnthropicContent}.
 */
public final class AnthropicRequests {
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
    AnthropicContent.system(body.path("system"), messages);
    AnthropicContent.messages(body.path("messages"), messages);
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

  static String string(JsonNode node, String field, String at) {
    JsonNode value = node.path(field);
    if (!value.isTextual()) {
      throw invalid(at + "." + field, value.isMissingNode() ? "Field required" : "must be a string");
    }
    return value.asText();
  }

  static ChatMessage.CacheControl cacheControl(JsonNode block, String at) {
    try {
      return OpenAiMessages.cacheControl(block.path("cache_control"));
    } catch (IllegalArgumentException e) {
      throw invalid(at + ".cache_control", e.getMessage());
    }
  }


  /** A 400 naming the path, as Anthropic's API words them. */
  static ApiError invalid(String path, String message) {
    return ApiError.badRequest("invalid_request", path + ": " + message).withExtension("param", path);
  }
}
