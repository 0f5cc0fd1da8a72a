package dev.atrium.gateway.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.CompletionChunks;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.util.ByteString;

/**
 * One streamed answer as Anthropic's Messages API streams it ({@code event: <type>} then
 * {@code data: <json>}): {@code message_start} and a {@code ping}, then per content block
 * {@code content_block_start}, its deltas and {@code content_block_stop} with increasing
 * indexes (the text, then each tool call, in the order the upstream's deltas came),
 * {@code message_delta} with the stop reason and usage, {@code message_stop}. A delta's
 * frame is constant bytes around its JSON-escaped text: no tree per chunk.
 *
 * <p>It follows its blocks, so one instance renders one stream, its events in order (a
 * stream stage's, one at a time).
 */
public final class AnthropicStream {
  /** A {@code ping}: after {@code message_start}, and the stream's heartbeat. */
  public static final ByteString PING = bytes("event: ping\ndata: {\"type\":\"ping\"}\n\n");
  private static final ByteString DELTA_START = bytes(
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":");
  private static final ByteString TEXT_DELTA = bytes(",\"delta\":{\"type\":\"text_delta\",\"text\":\"");
  private static final ByteString JSON_DELTA = bytes(",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
  private static final ByteString DELTA_END = bytes("\"}}\n\n");
  private static final String STOP = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":";

  private final String id;
  private final String model;
  private final int inputTokens;
  /** The open block's index, -1 when none is. */
  private int open = -1;
  private boolean openIsText;
  private int next;
  /** The block of each of the upstream's tool calls (its OpenAI index). */
  private final Map<Integer, Integer> toolBlocks = new HashMap<>();

  /** @param inputTokens the prompt's tokens as counted before the call, for {@code message_start} */
  public AnthropicStream(String id, String model, int inputTokens) {
    this.id = id;
    this.model = model;
    this.inputTokens = inputTokens;
  }

  /** {@code message_start}, an empty assistant message, and the first {@code ping}. */
  public ByteString start() {
    ObjectNode message = AnthropicResponses.head(id, model);
    message.putArray("content");
    message.putNull("stop_reason");
    message.putNull("stop_sequence");
    message.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", 0);
    ObjectNode event = Json.MAPPER.createObjectNode().put("type", "message_start");
    event.set("message", message);
    return event("message_start", event).concat(PING);
  }

  /** The frames of one event of the answer: block starts, deltas and stops; usage and finish wait for {@link #end}. */
  public List<ByteString> frames(ChatEvent event) {
    if (!(event instanceof ChatEvent.Delta delta)) {
      return List.of();
    }
    List<ByteString> frames = new ArrayList<>(2);
    if (!delta.content().isEmpty()) {
      if (open < 0 || !openIsText) {
        openBlock(frames, true, "{\"type\":\"text\",\"text\":\"\"}");
      }
      frames.add(DELTA_START.concat(bytes(Integer.toString(open))).concat(TEXT_DELTA)
          .concat(CompletionChunks.jsonText(delta.content())).concat(DELTA_END));
    }
    for (ChatEvent.ToolCallDelta call : delta.toolCalls()) {
      Integer block = toolBlocks.get(call.index());
      if (block == null) {
        openBlock(frames, false, "{\"type\":\"tool_use\",\"id\":\"" + quote(call.id() == null ? "" : call.id())
            + "\",\"name\":\"" + quote(call.name() == null ? "" : call.name()) + "\",\"input\":{}}");
        block = open;
        toolBlocks.put(call.index(), block);
      }
      if (call.arguments() != null && !call.arguments().isEmpty()) {
        frames.add(DELTA_START.concat(bytes(Integer.toString(block))).concat(JSON_DELTA)
            .concat(CompletionChunks.jsonText(call.arguments())).concat(DELTA_END));
      }
    }
    return frames;
  }

  /**
   * The end: the open block's stop, {@code message_delta} with why the answer ended and its
   * usage (output tokens; the provider's input and cache-read figures), {@code message_stop}.
   */
  public List<ByteString> end(String finishReason, ChatEvent.Usage usage) {
    List<ByteString> frames = new ArrayList<>(3);
    closeBlock(frames);
    ObjectNode event = Json.MAPPER.createObjectNode().put("type", "message_delta");
    event.putObject("delta").put("stop_reason", AnthropicStopReasons.toAnthropic(finishReason))
        .putNull("stop_sequence");
    event.set("usage", AnthropicResponses.usage(usage));
    frames.add(event("message_delta", event));
    frames.add(bytes("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    return frames;
  }

  /** An {@code error} event: the stream failed after it opened; it ends after this. */
  public static ByteString error(String type, String message) {
    ObjectNode event = Json.MAPPER.createObjectNode().put("type", "error");
    event.putObject("error").put("type", type).put("message", message);
    return event("error", event);
  }

  private void openBlock(List<ByteString> frames, boolean text, String block) {
    closeBlock(frames);
    open = next++;
    openIsText = text;
    frames.add(bytes("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":" + open
        + ",\"content_block\":" + block + "}\n\n"));
  }

  private void closeBlock(List<ByteString> frames) {
    if (open >= 0) {
      frames.add(bytes(STOP + open + "}\n\n"));
      open = -1;
    }
  }

  private static ByteString event(String type, ObjectNode data) {
    try {
      return bytes("event: " + type + "\ndata: " + Json.MAPPER.writeValueAsString(data) + "\n\n");
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an event is plain data", e);
    }
  }

  private static String quote(String s) {
    return CompletionChunks.jsonText(s).utf8String();
  }

  private static ByteString bytes(String s) {
    return ByteString.fromString(s, StandardCharsets.UTF_8);
  }
}
