package dev.atrium.sessions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Journals and snapshots written before version 2 held each session message flat
 * ({@code {"id", "role", "content", "createdAt", ...}}); since then a message holds its
 * {@link dev.atrium.gateway.ChatMessage} ({@code {"id", "message": {"role", "content"}, ...}}).
 * Bound in {@code serialization.conf} to the events and the snapshot that carry messages:
 * {@code TurnStarted.userMessage}, {@code TurnEnded.assistantMessage}, {@code SessionState.messages}.
 */
public final class MessageShapeMigration extends JacksonMigration {

  @Override
  public int currentVersion() {
    return 2;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    if (fromVersion < 2 && json instanceof ObjectNode root) {
      nest(root.get("userMessage"));
      nest(root.get("assistantMessage"));
      JsonNode messages = root.get("messages");
      if (messages != null && messages.isArray()) {
        messages.forEach(MessageShapeMigration::nest);
      }
    }
    return json;
  }

  /** Moves a flat message's role and content into its {@code message}. */
  private static void nest(JsonNode node) {
    if (!(node instanceof ObjectNode message) || message.has("message")) {
      return;
    }
    ObjectNode chat = message.putObject("message");
    chat.set("role", message.remove("role"));
    JsonNode content = message.remove("content");
    if (content != null && !content.isNull()) {
      chat.set("content", content);
    }
  }
}
