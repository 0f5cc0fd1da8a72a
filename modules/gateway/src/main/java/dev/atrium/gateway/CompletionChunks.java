package dev.atrium.gateway;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * The SSE frames of one streamed {@code chat.completion.chunk} answer in OpenAI's framing
 * ({@code data: {...}} with the space). What every chunk of the completion shares (its id,
 * created and model) is rendered once; a delta's chunk is that prefix, the upstream's delta
 * bytes as they came ({@link ChatEvent.Delta#raw}), and a constant suffix: nothing is
 * parsed or serialised per chunk.
 */
public final class CompletionChunks {
  private static final ByteString DELTA_END =
      bytes(",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  private static final ByteString ROLE = bytes("{\"role\":\"assistant\",\"content\":\"\"}");
  private static final ByteString CONTENT_START = bytes("{\"content\":\"");
  private static final ByteString CONTENT_END = bytes("\"}");

  /** {@code data: {"id":...,"object":"chat.completion.chunk","created":...,"model":...} up to its choices. */
  private final ByteString head;
  private final ByteString deltaStart;

  public CompletionChunks(String id, long created, String model) {
    this.head = bytes("data: {\"id\":\"" + quote(id) + "\",\"object\":\"chat.completion.chunk\",\"created\":" + created
        + ",\"model\":\"" + quote(model) + "\"");
    this.deltaStart = head.concat(bytes(",\"choices\":[{\"index\":0,\"delta\":"));
  }

  /** The first chunk, the door's own: the assistant's role. */
  public ByteString role() {
    return deltaStart.concat(ROLE).concat(DELTA_END);
  }

  /**
   * A delta's chunk: the upstream's delta object spliced in; when there are no upstream bytes
   * (another protocol's provider, a replay), its text, and its tool-call fragments in
   * OpenAI's streamed shape ({@code {"index", "id", "type", "function": {"name",
   * "arguments"}}}, absent members left out) after the text, if it has text.
   */
  public ByteString delta(ChatEvent.Delta delta) {
    if (delta.raw() != null) {
      return deltaStart.concat(delta.raw()).concat(DELTA_END);
    }
    if (delta.toolCalls().isEmpty()) {
      return deltaStart.concat(CONTENT_START).concat(jsonText(delta.content())).concat(CONTENT_END).concat(DELTA_END);
    }
    StringBuilder body = new StringBuilder(64);
    body.append(delta.content().isEmpty() ? "{" : "{\"content\":\"" + quote(delta.content()) + "\",")
        .append("\"tool_calls\":[");
    for (int i = 0; i < delta.toolCalls().size(); i++) {
      ChatEvent.ToolCallDelta call = delta.toolCalls().get(i);
      body.append(i == 0 ? "" : ",").append("{\"index\":").append(call.index());
      if (call.id() != null) {
        body.append(",\"id\":\"").append(quote(call.id())).append('"');
      }
      if (call.type() != null) {
        body.append(",\"type\":\"").append(quote(call.type())).append('"');
      }
      body.append(",\"function\":{");
      String sep = "";
      if (call.name() != null) {
        body.append("\"name\":\"").append(quote(call.name())).append('"');
        sep = ",";
      }
      if (call.arguments() != null) {
        body.append(sep).append("\"arguments\":\"").append(quote(call.arguments())).append('"');
      }
      body.append("}}");
    }
    body.append("]}");
    return deltaStart.concat(bytes(body.toString())).concat(DELTA_END);
  }

  /** The chunk that says why the answer ended. */
  public ByteString finish(String reason) {
    return deltaStart.concat(bytes("{},\"logprobs\":null,\"finish_reason\":\"" + quote(reason) + "\"}]}\n\n"));
  }

  /** The last chunk when the client asked for {@code stream_options.include_usage}: no choices, the usage. */
  public ByteString usage(ChatEvent.Usage usage) {
    String details = usage.cachedPromptTokens() > 0
        ? ",\"prompt_tokens_details\":{\"cached_tokens\":" + usage.cachedPromptTokens() + "}" : "";
    return head.concat(bytes(",\"choices\":[],\"usage\":{\"prompt_tokens\":" + usage.promptTokens()
        + ",\"completion_tokens\":" + usage.completionTokens() + ",\"total_tokens\":"
        + (usage.promptTokens() + usage.completionTokens()) + details + "}}\n\n"));
  }

  /** A JSON string's contents (no quotes), UTF-8, escaped as JSON requires. */
  public static ByteString jsonText(String text) {
    return ByteString.fromArrayUnsafe(JsonStringEncoder.getInstance().quoteAsUTF8(text));
  }

  private static String quote(String s) {
    return new String(JsonStringEncoder.getInstance().quoteAsString(s));
  }

  private static ByteString bytes(String s) {
    return ByteString.fromString(s, StandardCharsets.UTF_8);
  }
}
