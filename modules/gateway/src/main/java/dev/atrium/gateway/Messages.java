package dev.atrium.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;

/** OpenAI-shaped message objects. */
public final class Messages {
  private Messages() {}

  public static ObjectNode of(String role, String content) {
    ObjectNode message = Json.MAPPER.createObjectNode();
    message.put("role", role);
    message.put("content", content);
    return message;
  }

  /**
   * The text of a message: its {@code content} string, or the concatenated {@code text}
   * of its content parts ({@code [{"type": "text", "text": ...}]}); other parts (images)
   * contribute nothing.
   */
  public static String text(JsonNode message) {
    JsonNode content = message.path("content");
    if (content.isTextual()) {
      return content.asText();
    }
    if (content.isArray()) {
      StringBuilder text = new StringBuilder();
      for (JsonNode part : content) {
        if ("text".equals(part.path("type").asText()) && part.path("text").isTextual()) {
          text.append(part.path("text").asText());
        }
      }
      return text.toString();
    }
    return "";
  }
}
