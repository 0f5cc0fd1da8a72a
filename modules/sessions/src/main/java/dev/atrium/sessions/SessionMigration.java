package dev.atrium.sessions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.gateway.Tokens;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads the session's events and snapshots of earlier versions (bound in the module's
 * {@code reference.conf} to the classes that changed):
 * <ul>
 *   <li>version 1 held each message flat ({@code {"id", "role", "content", "createdAt", ...}});
 *       since version 2 a message holds its {@link dev.atrium.gateway.ChatMessage}
 *       ({@code {"id", "message": {"role", "content"}, ...}}): {@code TurnStarted.userMessage},
 *       {@code TurnEnded.assistantMessage}, {@code SessionState.messages};</li>
 *   <li>since version 3 a snapshot carries its token totals, counted once: the system
 *       prompt's ({@code meta.systemPromptTokens}) and the retained messages' running total
 *       ({@code contextTokens}), recomputed here from what an older snapshot holds;</li>
 *   <li>since version 4 a session's owner is an {@link dev.atrium.core.tenant.Owner} (a user
 *       or a key), no longer a key id: {@code Created.ownerKeyId} and the snapshot's
 *       {@code meta.ownerKeyId} become {@code owner: {"kind": "key", "id": ...}} (null stays
 *       null). Version 1 to 3 {@code Created} events carry no version: they read as 1.</li>
 * </ul>
 */
public final class SessionMigration extends JacksonMigration {

  @Override
  public int currentVersion() {
    return 4;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    if (!(json instanceof ObjectNode root)) {
      return json;
    }
    JsonNode messages = root.get("messages");
    if (fromVersion < 2) {
      nest(root.get("userMessage"));
      nest(root.get("assistantMessage"));
      if (messages != null && messages.isArray()) {
        messages.forEach(SessionMigration::nest);
      }
    }
    if (fromVersion < 3 && messages != null && messages.isArray()) {
      if (root.get("meta") instanceof ObjectNode meta) {
        meta.put("systemPromptTokens", Tokens.count(meta.path("systemPrompt").textValue()));
      }
      int total = 0;
      for (JsonNode message : messages) {
        total += promptCost(message);
      }
      root.put("contextTokens", total);
    }
    if (fromVersion < 4) {
      keyOwner(root);
      if (root.get("meta") instanceof ObjectNode meta) {
        keyOwner(meta);
      }
    }
    return json;
  }

  /** {@code ownerKeyId} (a key id or null) as the {@code owner} it meant: that key. */
  static void keyOwner(ObjectNode node) {
    if (!node.has("ownerKeyId")) {
      return;
    }
    JsonNode keyId = node.remove("ownerKeyId");
    if (keyId.isTextual()) {
      node.putObject("owner").put("kind", "key").put("id", keyId.textValue());
    } else {
      node.putNull("owner");
    }
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

  /** {@link SessionState.Message#promptCost} of a stored message. */
  private static int promptCost(JsonNode message) {
    JsonNode chat = message.path("message");
    boolean prompted = !chat.path("content").asText("").isEmpty() || chat.path("toolCalls").size() > 0
        || chat.hasNonNull("extra");
    return prompted ? Tokens.MESSAGE_OVERHEAD + message.path("tokens").asInt() : 0;
  }
}
