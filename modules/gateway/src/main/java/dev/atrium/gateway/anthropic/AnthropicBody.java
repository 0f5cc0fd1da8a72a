package dev.atrium.gateway.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.ProviderException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The canonical request (OpenAI's chat format, {@link ChatRequest}) written as the body of
 * Anthropic's {@code POST /v1/messages}, once, with Jackson's streaming generator.
 *
 * <p>Messages:
 * <ul>
 *   <li>every {@code system} and {@code developer} message (the passages' system message
 *       among them) becomes a text block of {@code system}, in order, with its
 *       {@code cache_control}; Anthropic has no system turns, so one in the middle of the
 *       conversation moves there too;
 *   <li>{@code user} and {@code assistant} messages become content blocks: their text, or of
 *       a content-part array its {@code text} parts as text blocks and its {@code image_url}
 *       parts as {@code image} blocks (a {@code data:} URL as a {@code base64} source, an
 *       http(s) URL as a {@code url} source); an assistant's {@code tool_calls} become
 *       {@code tool_use} blocks, their arguments (JSON text) parsed into {@code input};
 *   <li>{@code tool} messages become {@code tool_result} blocks of a user turn;
 *   <li>consecutive turns of one role (tool results among them, as user turns) are merged
 *       into one, since Anthropic requires the roles to alternate; a message's
 *       {@code cache_control} goes on its last block; empty text blocks are left out
 *       (Anthropic refuses them), and a message's {@code name} has no place and is dropped.
 * </ul>
 *
 * <p>Options: {@code max_completion_tokens}, else {@code max_tokens}, is {@code max_tokens}
 * (which Anthropic requires: {@value #DEFAULT_MAX_TOKENS} when neither is set);
 * {@code temperature}, {@code top_p} as they are; {@code stop} (a string or a list) is
 * {@code stop_sequences}; function {@code tools} are {@code {name, description,
 * input_schema}}; {@code tool_choice} {@code auto}, {@code required}, {@code none} and a named
 * function are {@code {"type": "auto"}}, {@code {"type": "any"}}, {@code {"type": "none"}} and
 * {@code {"type": "tool", "name": ...}}, with {@code disable_parallel_tool_use} when
 * {@code parallel_tool_calls} is false; {@code user} (or a {@code metadata} holding only
 * {@code user_id}) is {@code metadata.user_id}; Anthropic's own {@code top_k} and
 * {@code thinking} pass through. A null option is an absent one, and {@code n: 1},
 * {@code logprobs: false} and {@code response_format: {"type": "text"}} ask for nothing.
 * Every other option ({@code logit_bias}, {@code n} above 1, {@code logprobs},
 * {@code response_format} json_schema, {@code seed}, {@code presence_penalty},
 * {@code frequency_penalty}, {@code reasoning_effort}, ...) has no place in Anthropic's API and
 * is a 400 {@code unsupported_parameter} naming it, never dropped silently; so is a message
 * part or tool of a type Anthropic does not take.
 */
public final class AnthropicBody {
  /** {@code max_tokens} when the request sets none. */
  public static final int DEFAULT_MAX_TOKENS = 4096;
  private static final Set<String> SKIPPED = Set.of("model", "messages", "stream", "stream_options");
  private static final Set<String> MAPPED = Set.of("max_tokens", "max_completion_tokens", "temperature", "top_p",
      "stop", "tools", "tool_choice", "parallel_tool_calls", "user", "metadata", "top_k", "thinking");

  private AnthropicBody() {}

  /** One content block of a turn; {@code cacheControl} (or null) is written into it. */
  private interface Block {
    void write(JsonGenerator out, ChatMessage.CacheControl cacheControl) throws IOException;
  }

  /** A turn being built: its role and its blocks, each with the cache hint it ends (or null). */
  private record Turn(String role, List<Block> blocks, List<ChatMessage.CacheControl> hints) {}

  /** The request body; {@code stream}: with {@code "stream": true}. */
  public static byte[] write(ChatRequest request, boolean stream) {
    ObjectNode options = request.options() == null ? Json.MAPPER.createObjectNode() : request.options();
    check(options);
    List<Turn> turns = turns(request.messages());
    var bytes = new ByteArrayOutputStream(1024);
    try (JsonGenerator out = Json.MAPPER.getFactory().createGenerator(bytes)) {
      out.writeStartObject();
      out.writeStringField("model", request.model());
      out.writeNumberField("max_tokens", maxTokens(options));
      system(out, request.promptMessages());
      out.writeArrayFieldStart("messages");
      for (Turn turn : turns) {
        out.writeStartObject();
        out.writeStringField("role", turn.role());
        out.writeArrayFieldStart("content");
        for (int i = 0; i < turn.blocks().size(); i++) {
          turn.blocks().get(i).write(out, turn.hints().get(i));
        }
        out.writeEndArray();
        out.writeEndObject();
      }
      out.writeEndArray();
      tools(out, options);
      for (String field : List.of("temperature", "top_p", "top_k", "thinking")) {
        if (present(options, field)) {
          out.writeFieldName(field);
          out.writeTree(options.get(field));
        }
      }
      stop(out, options);
      metadata(out, options);
      if (stream) {
        out.writeBooleanField("stream", true);
      }
      out.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return bytes.toByteArray();
  }

  /** A 400 for a request Anthropic's API cannot take, naming what it cannot take. */
  static ProviderException unsupported(String field, String why) {
    return new ProviderException(400, "unsupported_parameter",
        "The model's provider (Anthropic's Messages API) does not take '" + field + "'" + (why.isEmpty() ? "" : ": " + why)
            + ".", false);
  }

  private static boolean present(ObjectNode options, String field) {
    return options.hasNonNull(field);
  }

  /** Every option is one this writer maps or one that asks for nothing; else a 400 naming it. */
  private static void check(ObjectNode options) {
    for (Iterator<Map.Entry<String, JsonNode>> it = options.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> option = it.next();
      String name = option.getKey();
      JsonNode value = option.getValue();
      if (SKIPPED.contains(name) || MAPPED.contains(name) || value.isNull()) {
        continue;
      }
      boolean neutral = switch (name) {
        case "n" -> value.isIntegralNumber() && value.asInt() == 1;
        case "logprobs" -> value.isBoolean() && !value.asBoolean();
        case "response_format" -> "text".equals(value.path("type").asText());
        default -> false;
      };
      if (!neutral) {
        throw unsupported(name, name.equals("n") ? "it answers one choice" : "");
      }
    }
  }

  private static int maxTokens(ObjectNode options) {
    for (String field : List.of("max_completion_tokens", "max_tokens")) {
      if (present(options, field)) {
        JsonNode value = options.get(field);
        if (!value.canConvertToInt() || !value.isIntegralNumber() || value.asInt() < 1) {
          throw unsupported(field, "it must be a positive integer");
        }
        return value.asInt();
      }
    }
    return DEFAULT_MAX_TOKENS;
  }

  private static void system(JsonGenerator out, List<ChatMessage> prompt) throws IOException {
    boolean open = false;
    for (ChatMessage message : prompt) {
      if (!isSystem(message) || message.text().isEmpty()) {
        continue;
      }
      if (!open) {
        out.writeArrayFieldStart("system");
        open = true;
      }
      text(out, message.text(), message.cacheControl());
    }
    if (open) {
      out.writeEndArray();
    }
  }

  private static boolean isSystem(ChatMessage message) {
    return "system".equals(message.role()) || "developer".equals(message.role());
  }

  private static void text(JsonGenerator out, String text, ChatMessage.CacheControl cacheControl) throws IOException {
    out.writeStartObject();
    out.writeStringField("type", "text");
    out.writeStringField("text", text);
    cacheControl(out, cacheControl);
    out.writeEndObject();
  }

  private static void cacheControl(JsonGenerator out, ChatMessage.CacheControl hint) throws IOException {
    if (hint == null) {
      return;
    }
    out.writeObjectFieldStart("cache_control");
    out.writeStringField("type", hint.type());
    if (hint.ttl() != null) {
      out.writeStringField("ttl", hint.ttl());
    }
    out.writeEndObject();
  }

  /** The conversation (system messages aside) as alternating turns. */
  private static List<Turn> turns(List<ChatMessage> messages) {
    List<Turn> turns = new ArrayList<>(messages.size());
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage message = messages.get(i);
      if (isSystem(message)) {
        continue;
      }
      String role = switch (message.role()) {
        case "user", "tool" -> "user";
        case "assistant" -> "assistant";
        default -> throw unsupported("messages[" + i + "].role", "a message of role '" + message.role() + "'");
      };
      List<Block> blocks = blocks(message, i);
      if (blocks.isEmpty()) {
        continue;
      }
      Turn last = turns.isEmpty() ? null : turns.get(turns.size() - 1);
      if (last == null || !last.role().equals(role)) {
        last = new Turn(role, new ArrayList<>(), new ArrayList<>());
        turns.add(last);
      }
      for (int b = 0; b < blocks.size(); b++) {
        last.blocks().add(blocks.get(b));
        last.hints().add(b == blocks.size() - 1 ? message.cacheControl() : null);
      }
    }
    return turns;
  }

  private static List<Block> blocks(ChatMessage message, int index) {
    String where = "messages[" + index + "]";
    if ("tool".equals(message.role())) {
      return List.of(toolResult(message, where));
    }
    List<Block> blocks = new ArrayList<>(1 + message.toolCalls().size());
    JsonNode parts = message.extra() == null ? null : message.extra().get("content");
    if (parts != null && parts.isArray()) {
      for (int p = 0; p < parts.size(); p++) {
        Block part = part(parts.get(p), where + ".content[" + p + "]");
        if (part != null) {
          blocks.add(part);
        }
      }
    } else if (parts != null) {
      throw unsupported(where + ".content", "content must be a string or an array of parts");
    } else if (!message.text().isEmpty()) {
      String text = message.text();
      blocks.add((out, hint) -> text(out, text, hint));
    }
    if (message.extra() != null && message.extra().has("tool_calls")) {
      throw unsupported(where + ".tool_calls", "tool calls must be functions with an id, a name and arguments");
    }
    for (int c = 0; c < message.toolCalls().size(); c++) {
      ChatMessage.ToolCall call = message.toolCalls().get(c);
      String at = where + ".tool_calls[" + c + "].function.arguments";
      byte[] input = arguments(call.arguments(), at);
      blocks.add((out, hint) -> {
        out.writeStartObject();
        out.writeStringField("type", "tool_use");
        out.writeStringField("id", call.id());
        out.writeStringField("name", call.name());
        out.writeFieldName("input");
        try (JsonParser p = Json.MAPPER.getFactory().createParser(input)) {
          p.nextToken();
          out.copyCurrentStructure(p);
        }
        cacheControl(out, hint);
        out.writeEndObject();
      });
    }
    return blocks;
  }

  /** A content part as a block: text (null when empty: no block) or an image; other parts are a 400. */
  private static Block part(JsonNode part, String where) {
    String type = part.path("type").asText("");
    switch (type) {
      case "text" -> {
        String text = part.path("text").asText("");
        return text.isEmpty() ? null : (out, hint) -> text(out, text, hint);
      }
      case "image_url" -> {
        JsonNode image = part.path("image_url");
        String url = image.isTextual() ? image.asText() : image.path("url").asText("");
        return image(url, where);
      }
      default -> throw unsupported(where + ".type", "a content part of type '" + type + "'");
    }
  }

  private static Block image(String url, String where) {
    if (url.startsWith("data:")) {
      int comma = url.indexOf(',');
      String header = comma < 0 ? "" : url.substring(5, comma);
      if (!header.endsWith(";base64")) {
        throw unsupported(where + ".image_url", "an image data: URL must be base64");
      }
      String mediaType = header.substring(0, header.length() - ";base64".length());
      String data = url.substring(comma + 1);
      return (out, hint) -> {
        out.writeStartObject();
        out.writeStringField("type", "image");
        out.writeObjectFieldStart("source");
        out.writeStringField("type", "base64");
        out.writeStringField("media_type", mediaType);
        out.writeStringField("data", data);
        out.writeEndObject();
        cacheControl(out, hint);
        out.writeEndObject();
      };
    }
    if (url.startsWith("https://") || url.startsWith("http://")) {
      return (out, hint) -> {
        out.writeStartObject();
        out.writeStringField("type", "image");
        out.writeObjectFieldStart("source");
        out.writeStringField("type", "url");
        out.writeStringField("url", url);
        out.writeEndObject();
        cacheControl(out, hint);
        out.writeEndObject();
      };
    }
    throw unsupported(where + ".image_url", "an image URL must be a data: or http(s) URL");
  }

  private static Block toolResult(ChatMessage message, String where) {
    if (message.toolCallId() == null) {
      throw unsupported(where + ".tool_call_id", "a tool message needs the id of the call it answers");
    }
    JsonNode parts = message.extra() == null ? null : message.extra().get("content");
    List<String> texts = new ArrayList<>();
    if (parts != null && parts.isArray()) {
      for (int p = 0; p < parts.size(); p++) {
        if (!"text".equals(parts.get(p).path("type").asText())) {
          throw unsupported(where + ".content[" + p + "].type", "a tool result part must be text");
        }
        texts.add(parts.get(p).path("text").asText(""));
      }
    }
    return (out, hint) -> {
      out.writeStartObject();
      out.writeStringField("type", "tool_result");
      out.writeStringField("tool_use_id", message.toolCallId());
      if (parts != null && parts.isArray()) {
        out.writeArrayFieldStart("content");
        for (String text : texts) {
          if (!text.isEmpty()) {
            text(out, text, null);
          }
        }
        out.writeEndArray();
      } else {
        out.writeStringField("content", message.text());
      }
      cacheControl(out, hint);
      out.writeEndObject();
    };
  }

  /** A tool call's arguments as the JSON object Anthropic's {@code input} is ("" is {}). */
  private static byte[] arguments(String arguments, String where) {
    if (arguments == null || arguments.isBlank()) {
      return new byte[] {'{', '}'};
    }
    try (JsonParser p = Json.MAPPER.getFactory().createParser(arguments)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw unsupported(where, "tool call arguments must be a JSON object");
      }
      p.skipChildren();
      if (p.nextToken() != null) {
        throw unsupported(where, "tool call arguments must be one JSON object");
      }
    } catch (IOException e) {
      throw unsupported(where, "tool call arguments must be a JSON object");
    }
    return arguments.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static void tools(JsonGenerator out, ObjectNode options) throws IOException {
    JsonNode tools = options.get("tools");
    boolean hasTools = tools != null && !tools.isNull();
    if (hasTools) {
      if (!tools.isArray()) {
        throw unsupported("tools", "tools must be an array");
      }
      out.writeArrayFieldStart("tools");
      for (int i = 0; i < tools.size(); i++) {
        JsonNode tool = tools.get(i);
        JsonNode function = tool.path("function");
        if (!"function".equals(tool.path("type").asText()) || !function.path("name").isTextual()) {
          throw unsupported("tools[" + i + "].type", "a tool must be a function with a name");
        }
        out.writeStartObject();
        out.writeStringField("name", function.get("name").asText());
        if (function.path("description").isTextual()) {
          out.writeStringField("description", function.get("description").asText());
        }
        out.writeFieldName("input_schema");
        if (function.path("parameters").isObject()) {
          out.writeTree(function.get("parameters"));
        } else {
          out.writeStartObject();
          out.writeStringField("type", "object");
          out.writeEndObject();
        }
        out.writeEndObject();
      }
      out.writeEndArray();
    }
    boolean serial = options.path("parallel_tool_calls").isBoolean() && !options.get("parallel_tool_calls").asBoolean();
    JsonNode choice = options.get("tool_choice");
    String type;
    String name = null;
    if (choice == null || choice.isNull()) {
      if (!serial || !hasTools) {
        return;
      }
      type = "auto";
    } else if (choice.isTextual()) {
      type = switch (choice.asText()) {
        case "auto" -> "auto";
        case "required" -> "any";
        case "none" -> "none";
        default -> throw unsupported("tool_choice", "'" + choice.asText() + "' is none of auto, required, none");
      };
    } else if ("function".equals(choice.path("type").asText()) && choice.path("function").path("name").isTextual()) {
      type = "tool";
      name = choice.get("function").get("name").asText();
    } else {
      throw unsupported("tool_choice", "it must be auto, required, none or a named function");
    }
    out.writeObjectFieldStart("tool_choice");
    out.writeStringField("type", type);
    if (name != null) {
      out.writeStringField("name", name);
    }
    if (serial && !type.equals("none")) {
      out.writeBooleanField("disable_parallel_tool_use", true);
    }
    out.writeEndObject();
  }

  private static void stop(JsonGenerator out, ObjectNode options) throws IOException {
    JsonNode stop = options.get("stop");
    if (stop == null || stop.isNull()) {
      return;
    }
    List<String> sequences = new ArrayList<>();
    if (stop.isTextual()) {
      sequences.add(stop.asText());
    } else if (stop.isArray()) {
      for (JsonNode s : stop) {
        if (!s.isTextual()) {
          throw unsupported("stop", "stop must be a string or an array of strings");
        }
        sequences.add(s.asText());
      }
    } else {
      throw unsupported("stop", "stop must be a string or an array of strings");
    }
    out.writeArrayFieldStart("stop_sequences");
    for (String s : sequences) {
      out.writeString(s);
    }
    out.writeEndArray();
  }

  private static void metadata(JsonGenerator out, ObjectNode options) throws IOException {
    String user = null;
    JsonNode metadata = options.get("metadata");
    if (metadata != null && !metadata.isNull()) {
      for (Iterator<String> names = metadata.fieldNames(); names.hasNext(); ) {
        String member = names.next();
        if (!member.equals("user_id")) {
          throw unsupported("metadata." + member, "Anthropic's metadata holds only user_id");
        }
      }
      if (!metadata.isObject() || (metadata.has("user_id") && !metadata.get("user_id").isTextual())) {
        throw unsupported("metadata", "metadata must be an object with a string user_id");
      }
      user = metadata.path("user_id").asText(null);
    }
    JsonNode caller = options.get("user");
    if (caller != null && caller.isTextual()) {
      user = caller.asText();
    } else if (caller != null && !caller.isNull()) {
      throw unsupported("user", "user must be a string");
    }
    if (user != null) {
      out.writeObjectFieldStart("metadata");
      out.writeStringField("user_id", user);
      out.writeEndObject();
    }
  }
}
