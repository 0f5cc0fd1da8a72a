package dev.atrium.gateway.anthropic;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.ProviderHttp;
import dev.atrium.gateway.SseEvents;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An Anthropic Messages stream turned into {@link ChatEvent}s in one fused stage
 * ({@link SseEvents}: the framing, the drain after the end, a cut-short body failing with a
 * retryable 502). Each event's data is read with Jackson's streaming parser, never a tree
 * (its {@code type} member says which event it is; the SSE {@code event:} line is not needed):
 * <ul>
 *   <li>{@code message_start}: its {@code message.usage} is kept;
 *   <li>{@code content_block_start} of a {@code tool_use} block: a tool-call delta with the
 *       call's index (the block's ordinal among the answer's tool calls), id, type
 *       {@code function} and name; of a text block, its text if it has any;
 *   <li>{@code content_block_delta}: {@code text_delta} is a delta of text,
 *       {@code input_json_delta} a fragment of its tool call's arguments; thinking and
 *       signature deltas are skipped;
 *   <li>{@code message_delta}: its {@code stop_reason} is the {@link ChatEvent.Finish}
 *       ({@link AnthropicStopReasons#toCanonical}), its usage updates the kept one;
 *   <li>{@code message_stop} ends the answer, with the {@link ChatEvent.Usage}: the prompt is
 *       {@code input_tokens} + {@code cache_creation_input_tokens} +
 *       {@code cache_read_input_tokens} (Anthropic's input tokens leave the cached ones out),
 *       of which cache reads are cached and cache creations cache writes;
 *   <li>{@code ping}, {@code content_block_stop} and event types this reader does not know
 *       are skipped; an {@code error} event fails the stream ({@link #error}).
 * </ul>
 */
public final class AnthropicEvents extends SseEvents {
  private static final JsonFactory JSON = Json.MAPPER.getFactory();

  public AnthropicEvents(int maxEventSize, Duration drainGrace) {
    super(maxEventSize, drainGrace, Reader::new);
  }

  /** With the gateway's drain grace. */
  public AnthropicEvents(int maxEventSize) {
    this(maxEventSize, ProviderHttp.DRAIN_GRACE);
  }

  /**
   * An error Anthropic reports (an {@code error} event, or the error body of a response that
   * came with 200) as a ProviderException: {@code overloaded_error} (529) and
   * {@code api_error} (500) may pass on a retry or a fallback; the others (a bad request,
   * credentials, a rate limit, ...) would fail again and are not retried.
   */
  public static ProviderException error(String type, String message) {
    int status = switch (type) {
      case "invalid_request_error" -> 400;
      case "authentication_error" -> 401;
      case "permission_error" -> 403;
      case "not_found_error" -> 404;
      case "request_too_large" -> 413;
      case "rate_limit_error" -> 429;
      case "api_error" -> 500;
      case "overloaded_error" -> 529;
      default -> 502;
    };
    String text = status == 401 || status == 403 ? "the model server refused the gateway's credentials"
        : ProviderHttp.truncate(message);
    return new ProviderException(status, "upstream_error", "the model server failed mid-stream: " + type
        + (text.isEmpty() ? "" : ": " + text), status == 500 || status == 529);
  }

  static ProviderException malformed(Throwable cause) {
    return new ProviderException(502, "upstream_malformed", "the model server sent an event that is not JSON", true,
        cause);
  }

  /** The state of one stream: the usage so far, and which content blocks are tool calls. */
  private static final class Reader implements SseEvents.Reader {
    private int input;
    private int output;
    private int cacheWrite;
    private int cacheRead;
    /** The index of each tool_use block, in order: a call's position here is its tool-call index. */
    private final List<Integer> toolBlocks = new ArrayList<>(2);

    // One event's members, reset per event.
    private String type;
    private int index;
    private String blockType;
    private String blockId;
    private String blockName;
    private String text;
    private String deltaType;
    private String partialJson;
    private String stopReason;
    private String errorType;
    private String errorMessage;

    @Override
    public boolean read(byte[] bytes, int offset, int length, List<ChatEvent> out) {
      type = null;
      index = -1;
      blockType = null;
      blockId = null;
      blockName = null;
      text = null;
      deltaType = null;
      partialJson = null;
      stopReason = null;
      errorType = null;
      errorMessage = null;
      try (JsonParser p = JSON.createParser(bytes, offset, length)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw malformed(null);
        }
        event(p);
      } catch (IOException e) {
        throw malformed(e);
      }
      return emit(out);
    }

    private boolean emit(List<ChatEvent> out) {
      switch (type == null ? "" : type) {
        case "content_block_start" -> {
          if ("tool_use".equals(blockType)) {
            toolBlocks.add(index);
            out.add(new ChatEvent.Delta("", List.of(new ChatEvent.ToolCallDelta(toolBlocks.size() - 1, blockId,
                "function", blockName, "")), null));
          } else if ("text".equals(blockType) && text != null && !text.isEmpty()) {
            out.add(ChatEvent.Delta.text(text));
          }
        }
        case "content_block_delta" -> {
          if ("text_delta".equals(deltaType) && text != null && !text.isEmpty()) {
            out.add(ChatEvent.Delta.text(text));
          } else if ("input_json_delta".equals(deltaType) && partialJson != null && !partialJson.isEmpty()) {
            int call = toolBlocks.indexOf(index);
            if (call >= 0) {
              out.add(new ChatEvent.Delta("", List.of(new ChatEvent.ToolCallDelta(call, null, null, null, partialJson)),
                  null));
            }
          }
        }
        case "message_delta" -> {
          if (stopReason != null) {
            out.add(new ChatEvent.Finish(AnthropicStopReasons.toCanonical(stopReason)));
          }
        }
        case "message_stop" -> {
          out.add(new ChatEvent.Usage(input + cacheWrite + cacheRead, output, cacheRead, cacheWrite));
          return true;
        }
        case "error" -> throw error(errorType == null ? "error" : errorType, errorMessage == null ? "" : errorMessage);
        default -> {
          // message_start (its usage is kept), content_block_stop, ping, and types added later
        }
      }
      return false;
    }

    private void event(JsonParser p) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "type" -> type = text(p, value);
          case "index" -> index = p.getValueAsInt(-1);
          case "message" -> {
            if (value == JsonToken.START_OBJECT) {
              message(p);
            } else {
              p.skipChildren();
            }
          }
          case "content_block" -> {
            if (value == JsonToken.START_OBJECT) {
              block(p);
            } else {
              p.skipChildren();
            }
          }
          case "delta" -> {
            if (value == JsonToken.START_OBJECT) {
              delta(p);
            } else {
              p.skipChildren();
            }
          }
          case "usage" -> usage(p, value);
          case "error" -> {
            if (value == JsonToken.START_OBJECT) {
              errorObject(p);
            } else {
              p.skipChildren();
            }
          }
          default -> p.skipChildren();
        }
      }
    }

    private void message(JsonParser p) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (name.equals("usage")) {
          usage(p, value);
        } else {
          p.skipChildren();
        }
      }
    }

    private void block(JsonParser p) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "type" -> blockType = text(p, value);
          case "id" -> blockId = text(p, value);
          case "name" -> blockName = text(p, value);
          case "text" -> text = text(p, value);
          default -> p.skipChildren();
        }
      }
    }

    private void delta(JsonParser p) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "type" -> deltaType = text(p, value);
          case "text" -> text = text(p, value);
          case "partial_json" -> partialJson = text(p, value);
          case "stop_reason" -> stopReason = text(p, value);
          default -> p.skipChildren();
        }
      }
    }

    /** Usage members present here replace the kept ones (message_delta's are cumulative). */
    private void usage(JsonParser p, JsonToken value) throws IOException {
      if (value != JsonToken.START_OBJECT) {
        p.skipChildren();
        return;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (v != JsonToken.VALUE_NUMBER_INT) {
          p.skipChildren();
          continue;
        }
        switch (name) {
          case "input_tokens" -> input = p.getIntValue();
          case "output_tokens" -> output = p.getIntValue();
          case "cache_creation_input_tokens" -> cacheWrite = p.getIntValue();
          case "cache_read_input_tokens" -> cacheRead = p.getIntValue();
          default -> {
            // server tool use and the like: not tokens of this call's prompt or answer
          }
        }
      }
    }

    private void errorObject(JsonParser p) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "type" -> errorType = text(p, value);
          case "message" -> errorMessage = text(p, value);
          default -> p.skipChildren();
        }
      }
    }

    private static String text(JsonParser p, JsonToken value) throws IOException {
      if (value == JsonToken.VALUE_STRING) {
        return p.getText();
      }
      p.skipChildren();
      return null;
    }
  }
}
