package dev.atrium.gateway;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@link ChatMessage} in OpenAI's chat format: read from a client's request or an
 * upstream's answer, written into an upstream request or a client's response. Reading and
 * writing are inverse: a message read and written again has the same members, but for a
 * message's {@code cache_control} (a prompt-caching hint for providers that take one, which
 * OpenAI's format has no place for: read into {@link ChatMessage#cacheControl}, not written).
 */
public final class OpenAiMessages {
  private static final Set<String> CORE = Set.of("role", "content", "name", "tool_calls", "tool_call_id",
      "cache_control");

  private OpenAiMessages() {}

  /** A message object as OpenAI's API has it. */
  public static ChatMessage read(JsonNode message) {
    ObjectNode extra = Json.MAPPER.createObjectNode();
    Iterator<Map.Entry<String, JsonNode>> fields = message.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (!CORE.contains(field.getKey())) {
        extra.set(field.getKey(), field.getValue());
      }
    }
    JsonNode content = message.path("content");
    String text = null;
    if (content.isTextual()) {
      text = content.asText();
    } else if (content.isArray()) {
      text = textOfParts(content);
      extra.set("content", content);
    } else if (!content.isMissingNode() && !content.isNull()) {
      extra.set("content", content);
    }
    List<ChatMessage.ToolCall> toolCalls = new ArrayList<>();
    JsonNode calls = message.path("tool_calls");
    if (calls.isArray()) {
      for (JsonNode call : calls) {
        if (!standardToolCall(call)) {
          // A shape we do not model: kept whole, written back as it came.
          extra.set("tool_calls", calls);
          toolCalls.clear();
          break;
        }
        toolCalls.add(new ChatMessage.ToolCall(call.path("id").asText(), call.path("type").asText("function"),
            call.path("function").path("name").asText(), call.path("function").path("arguments").asText()));
      }
    } else if (!calls.isMissingNode()) {
      extra.set("tool_calls", calls);
    }
    return new ChatMessage(message.path("role").asText(), text, textOrNull(message.path("name")), toolCalls,
        textOrNull(message.path("tool_call_id")), extra, cacheControl(message.path("cache_control")));
  }

  /**
   * A message's {@code cache_control}: null when absent; an object with a string {@code type}
   * (and optionally a string {@code ttl}) otherwise.
   *
   * @throws IllegalArgumentException for any other shape, saying what it must be
   */
  public static ChatMessage.CacheControl cacheControl(JsonNode hint) {
    if (hint.isMissingNode() || hint.isNull()) {
      return null;
    }
    if (!hint.isObject() || !hint.path("type").isTextual()
        || !(hint.path("ttl").isMissingNode() || hint.path("ttl").isTextual())) {
      throw new IllegalArgumentException("cache_control must be an object with a string type (and an optional string ttl)");
    }
    return new ChatMessage.CacheControl(hint.get("type").asText(), textOrNull(hint.path("ttl")));
  }

  private static boolean standardToolCall(JsonNode call) {
    if (!call.isObject() || !call.path("id").isTextual() || !call.path("function").isObject()) {
      return false;
    }
    for (Iterator<String> names = call.fieldNames(); names.hasNext(); ) {
      if (!Set.of("id", "type", "function").contains(names.next())) {
        return false;
      }
    }
    JsonNode function = call.path("function");
    for (Iterator<String> names = function.fieldNames(); names.hasNext(); ) {
      if (!Set.of("name", "arguments").contains(names.next())) {
        return false;
      }
    }
    return function.path("name").isTextual() && function.path("arguments").isTextual()
        && (call.path("type").isMissingNode() || call.path("type").isTextual());
  }

  private static String textOrNull(JsonNode node) {
    return node.isTextual() ? node.asText() : null;
  }

  /** The concatenated {@code text} of content parts; other parts (images, audio) add nothing. */
  static String textOfParts(JsonNode parts) {
    StringBuilder text = new StringBuilder();
    for (JsonNode part : parts) {
      if ("text".equals(part.path("type").asText()) && part.path("text").isTextual()) {
        text.append(part.path("text").asText());
      }
    }
    return text.toString();
  }

  /** Writes the message as one JSON object. */
  public static void write(JsonGenerator out, ChatMessage message) throws IOException {
    out.writeStartObject();
    out.writeStringField("role", message.role());
    ObjectNode extra = message.extra();
    if (extra != null && extra.has("content")) {
      out.writeFieldName("content");
      out.writeTree(extra.get("content"));
    } else if (message.content() == null) {
      out.writeNullField("content");
    } else {
      out.writeStringField("content", message.content());
    }
    if (message.name() != null) {
      out.writeStringField("name", message.name());
    }
    if (!message.toolCalls().isEmpty()) {
      writeToolCalls(out, message.toolCalls(), false);
    }
    if (message.toolCallId() != null) {
      out.writeStringField("tool_call_id", message.toolCallId());
    }
    if (extra != null) {
      for (Iterator<Map.Entry<String, JsonNode>> fields = extra.fields(); fields.hasNext(); ) {
        Map.Entry<String, JsonNode> field = fields.next();
        if (!field.getKey().equals("content")) {
          out.writeFieldName(field.getKey());
          out.writeTree(field.getValue());
        }
      }
    }
    out.writeEndObject();
  }

  /**
   * A {@code tool_calls} member: each call's id, type and function; {@code indexed}: with
   * each call's {@code index}, as a streamed delta has it.
   */
  public static void writeToolCalls(JsonGenerator out, List<ChatMessage.ToolCall> calls, boolean indexed)
      throws IOException {
    out.writeArrayFieldStart("tool_calls");
    for (int i = 0; i < calls.size(); i++) {
      ChatMessage.ToolCall call = calls.get(i);
      out.writeStartObject();
      if (indexed) {
        out.writeNumberField("index", i);
      }
      out.writeStringField("id", call.id());
      out.writeStringField("type", call.type());
      out.writeObjectFieldStart("function");
      out.writeStringField("name", call.name());
      out.writeStringField("arguments", call.arguments());
      out.writeEndObject();
      out.writeEndObject();
    }
    out.writeEndArray();
  }

  /** The message as a JSON tree (for responses built as trees). */
  public static ObjectNode toJson(ChatMessage message) {
    try {
      var buffer = new com.fasterxml.jackson.databind.util.TokenBuffer(Json.MAPPER, false);
      write(buffer, message);
      return Json.MAPPER.readTree(buffer.asParser());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
