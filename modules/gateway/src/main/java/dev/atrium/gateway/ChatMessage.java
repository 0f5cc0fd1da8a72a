package dev.atrium.gateway;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.JsonSerializable;
import java.util.List;

/**
 * One chat message, the same record from a session's state through the entity's reply to
 * a provider's request, where it is written to the provider's JSON once. A typed core —
 * role, text content, name, tool calls, tool call id — and {@code extra}: every other
 * member of the message as the client sent it (content-part arrays, provider-specific
 * blocks such as Anthropic's {@code cache_control}, fields a newer API adds), so nothing a
 * client sends is dropped.
 *
 * @param content the text: the content string, or the text parts of a content-part array
 *     (which itself stays in {@code extra} as {@code content}); null for an assistant
 *     message that only calls tools
 * @param extra other members, or null; a {@code content} here (an array) is what goes on
 *     the wire instead of the text
 * @param cacheControl the client's prompt-caching hint for the prefix ending with this
 *     message (Anthropic's {@code cache_control}), or null: kept for providers that take it;
 *     an OpenAI upstream caches prefixes by itself and is not sent it. Absent from messages
 *     stored before it existed, which read with null.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record ChatMessage(String role, String content, String name, List<ToolCall> toolCalls, String toolCallId,
    ObjectNode extra, CacheControl cacheControl) implements JsonSerializable {

  /** A call the model asked for: a function, its name and its arguments (JSON text). */
  public record ToolCall(String id, String type, String name, String arguments) implements JsonSerializable {}

  /**
   * A prompt-caching breakpoint as Anthropic's API has it: {@code type} "ephemeral", and an
   * optional {@code ttl} ("5m", "1h"; null: the provider's default).
   */
  public record CacheControl(String type, String ttl) implements JsonSerializable {}

  public ChatMessage {
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    if (extra != null && extra.isEmpty()) {
      extra = null;
    }
  }

  /** A message without a prompt-caching hint. */
  public ChatMessage(String role, String content, String name, List<ToolCall> toolCalls, String toolCallId,
      ObjectNode extra) {
    this(role, content, name, toolCalls, toolCallId, extra, null);
  }

  public static ChatMessage of(String role, String content) {
    return new ChatMessage(role, content, null, List.of(), null, null);
  }

  public static ChatMessage system(String content) {
    return of("system", content);
  }

  public static ChatMessage user(String content) {
    return of("user", content);
  }

  public static ChatMessage assistant(String content) {
    return of("assistant", content);
  }

  /** The text, never null. */
  public String text() {
    return content == null ? "" : content;
  }

  /** The same message with another role (an upstream answer stored as the assistant's). */
  public ChatMessage withRole(String role) {
    return new ChatMessage(role, content, name, toolCalls, toolCallId, extra, cacheControl);
  }
}
