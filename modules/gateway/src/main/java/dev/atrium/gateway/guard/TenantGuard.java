package dev.atrium.gateway.guard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatMessage;
import java.util.ArrayList;
import java.util.List;

/**
 * One tenant configuration's guardrails, compiled once: the input and output blocklists
 * (null where no rule applies) and the redactor (null without {@code pii}) with where it
 * applies. Shared by every call of the tenant; the scanning state of a stream lives in its
 * {@link OutputGuard} stage.
 */
final class TenantGuard {
  private static final TenantConfig.Direction IN = TenantConfig.Direction.INPUT;
  final TenantConfig config;
  final Blocklist input;
  final Blocklist output;
  final Redactor redactor;
  final boolean redactInput;
  final boolean redactOutput;

  TenantGuard(TenantConfig config, Redactor redactor) {
    this.config = config;
    TenantConfig.Guardrails g = config.guardrails();
    this.input = Blocklist.of(g, TenantConfig.Direction.INPUT);
    this.output = Blocklist.of(g, TenantConfig.Direction.OUTPUT);
    this.redactor = redactor;
    this.redactInput = redactor != null && g.pii().input();
    this.redactOutput = redactor != null && g.pii().output();
  }

  boolean screensInput() {
    return input != null || redactInput;
  }

  boolean screensOutput() {
    return output != null || redactOutput;
  }

  /** Where a guard's decisions go: the call's usage row and the metrics. */
  interface Decisions {
    void decided(Guards.Action action, TenantConfig.Direction direction, String rule);
  }

  /** The code of the first input rule any message's text matches, or null. */
  String blocked(List<ChatMessage> messages) {
    if (input == null) {
      return null;
    }
    for (ChatMessage message : messages) {
      String code = input.firstMatch(message.text());
      if (code != null) {
        return code;
      }
    }
    return null;
  }

  /** The messages with their PII redacted (the same list when nothing was found). */
  List<ChatMessage> redacted(List<ChatMessage> messages, Decisions decisions) {
    if (!redactInput) {
      return messages;
    }
    List<ChatMessage> out = null;
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage message = messages.get(i);
      ChatMessage redacted = redacted(message, decisions);
      if (redacted != message && out == null) {
        out = new ArrayList<>(messages.subList(0, i));
      }
      if (out != null) {
        out.add(redacted);
      }
    }
    return out == null ? messages : List.copyOf(out);
  }

  /** The message with its text, and the text parts of a content-part array, redacted. */
  private ChatMessage redacted(ChatMessage message, Decisions decisions) {
    String content = message.content() == null ? null : redact(message.content(), IN, decisions);
    ObjectNode extra = message.extra();
    JsonNode parts = extra == null ? null : extra.get("content");
    boolean partsChanged = false;
    if (parts != null && parts.isArray()) {
      ObjectNode copy = extra.deepCopy();
      for (JsonNode part : copy.withArray("content")) {
        if (part.isObject() && part.path("text").isTextual()) {
          String text = part.get("text").asText();
          String clean = redact(text, IN, decisions);
          if (!clean.equals(text)) {
            ((ObjectNode) part).put("text", clean);
            partsChanged = true;
          }
        }
      }
      extra = partsChanged ? copy : extra;
    }
    if (!partsChanged && (content == null || content.equals(message.content()))) {
      return message;
    }
    return new ChatMessage(message.role(), content, message.name(), message.toolCalls(), message.toolCallId(), extra,
        message.cacheControl());
  }

  /** The whole {@code text} redacted, its kinds told to {@code decisions}. */
  String redact(String text, TenantConfig.Direction direction, Decisions decisions) {
    Redactor.Redaction r = redactor.redact(text, false);
    r.kinds().forEach(kind -> decisions.decided(Guards.Action.REDACT, direction, kind));
    return r.kinds().isEmpty() ? text : r.text();
  }
}
