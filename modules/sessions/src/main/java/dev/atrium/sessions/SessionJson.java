package dev.atrium.sessions;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.gateway.OpenAiMessages;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Sessions and messages as clients and admins see them (snake_case JSON). */
final class SessionJson {
  private SessionJson() {}

  /** A stored message; {@code tool_calls} in OpenAI's shape when the model called tools. */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record Message(String id, String role, String content, Instant createdAt, int tokens, boolean interrupted,
      String turnId, @JsonInclude(JsonInclude.Include.NON_NULL) JsonNode toolCalls) {}

  static Message message(SessionState.Message m) {
    JsonNode toolCalls = m.message().toolCalls().isEmpty() ? null
        : OpenAiMessages.toJson(m.message()).get("tool_calls");
    return new Message(m.id(), m.role(), m.content(), m.createdAt(), m.tokens(), m.interrupted(), m.turnId(),
        toolCalls);
  }

  static Map<String, Object> session(ChatSession.SessionView v, boolean admin) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", v.sessionId());
    if (v.meta() != null) {
      json.put("title", v.meta().title());
      json.put("model", v.meta().model());
      json.put("system_prompt", v.meta().systemPrompt());
      json.put("created_at", v.meta().createdAt());
      json.put("rag", v.meta().rag());
      if (admin) {
        json.put("owner", v.meta().owner());
      }
    }
    json.put("last_active_at", v.lastActive());
    json.put("message_count", v.messageCount());
    json.put("dropped_messages", v.droppedMessages());
    json.put("tokens_in", v.tokensIn());
    json.put("tokens_out", v.tokensOut());
    json.put("status", v.status());
    v.inFlight().ifPresent(t -> {
      Map<String, Object> turn = new LinkedHashMap<>();
      turn.put("turn_id", t.turnId());
      turn.put("started_at", t.startedAt());
      turn.put("lease_until", t.leaseUntil());
      turn.put("model", t.model());
      json.put("in_flight_turn", turn);
    });
    return json;
  }
}
