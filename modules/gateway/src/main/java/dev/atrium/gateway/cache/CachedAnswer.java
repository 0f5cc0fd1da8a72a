package dev.atrium.gateway.cache;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatResult;
import dev.atrium.gateway.OpenAiMessages;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.util.ByteString;

/**
 * An answer as the response cache keeps it (the {@code answer} column, JSON): its text, the
 * tool calls it made, why it finished and the provider's usage (null when it reported none).
 * Only a complete answer is kept: one that finished with {@code stop} or {@code tool_calls}
 * and has text or tool calls ({@link #of}); a truncated ({@code length}), filtered
 * ({@code content_filter}) or empty one never is.
 */
public record CachedAnswer(String text, List<ChatMessage.ToolCall> toolCalls, String finishReason,
    ChatEvent.Usage usage) {
  /** The finish reasons of a complete answer. */
  static final Set<String> COMPLETE = Set.of("stop", "tool_calls");
  /** A replayed stream's text comes in pieces of at most this many chars. */
  static final int PIECE = 1024;

  public CachedAnswer {
    text = text == null ? "" : text;
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
  }

  /** The answer to keep, if it is one: complete and not empty. */
  static Optional<CachedAnswer> of(String text, List<ChatMessage.ToolCall> toolCalls, String finishReason,
      ChatEvent.Usage usage) {
    boolean empty = (text == null || text.isEmpty()) && toolCalls.isEmpty();
    return finishReason != null && COMPLETE.contains(finishReason) && !empty
        ? Optional.of(new CachedAnswer(text, toolCalls, finishReason, usage)) : Optional.empty();
  }

  static Optional<CachedAnswer> of(ChatResult result) {
    return of(result.message().content(), result.message().toolCalls(), result.finishReason(), result.usage());
  }

  /** The whole answer, as a provider's {@code complete} gives it. */
  ChatResult result() {
    ChatMessage message = new ChatMessage("assistant", text.isEmpty() && !toolCalls.isEmpty() ? null : text, null,
        toolCalls, null, null);
    return new ChatResult(message, finishReason, usage);
  }

  /**
   * The answer as a stream: its text in pieces, its tool calls in one delta (with the bytes
   * of OpenAI's delta, which the OpenAI door splices in), the usage, the finish.
   */
  List<ChatEvent> events() {
    List<ChatEvent> events = new ArrayList<>(text.length() / PIECE + 4);
    for (int start = 0; start < text.length(); ) {
      int end = Math.min(text.length(), start + PIECE);
      if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
        end--;
      }
      events.add(ChatEvent.Delta.text(text.substring(start, end)));
      start = end;
    }
    if (!toolCalls.isEmpty()) {
      List<ChatEvent.ToolCallDelta> deltas = new ArrayList<>(toolCalls.size());
      for (int i = 0; i < toolCalls.size(); i++) {
        ChatMessage.ToolCall call = toolCalls.get(i);
        deltas.add(new ChatEvent.ToolCallDelta(i, call.id(), call.type(), call.name(), call.arguments()));
      }
      events.add(new ChatEvent.Delta("", deltas, toolCallDelta(toolCalls)));
    }
    if (usage != null) {
      events.add(usage);
    }
    events.add(new ChatEvent.Finish(finishReason));
    return events;
  }

  /** OpenAI's {@code delta} object of the whole tool calls: {@code {"content":null,"tool_calls":[...]}}. */
  private static ByteString toolCallDelta(List<ChatMessage.ToolCall> calls) {
    var bytes = new java.io.ByteArrayOutputStream(256);
    try (JsonGenerator out = Json.MAPPER.getFactory().createGenerator(bytes)) {
      out.writeStartObject();
      out.writeNullField("content");
      OpenAiMessages.writeToolCalls(out, calls, true);
      out.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return ByteString.fromArrayUnsafe(bytes.toByteArray());
  }
}
