package dev.atrium.testkit.mockllm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.testkit.mockllm.OpenAiJson.BadRequest;
import dev.atrium.testkit.mockllm.OpenAiJson.ChatCall;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.apache.pekko.util.ByteString;

/**
 * Anthropic's Messages protocol as the mock model speaks it: the same deterministic answer
 * as its OpenAI side ({@code "t0 t1 ... "}, as many pieces as {@code max_tokens} allows, a
 * tool call when {@code tool_choice} names a tool or is {@code any}), as a {@code message}
 * or as a stream with every event type ({@code message_start}, {@code content_block_start},
 * {@code ping}, {@code content_block_delta}, {@code content_block_stop},
 * {@code message_delta}, {@code message_stop}).
 *
 * <p>Prompt caching, deterministically: the prompt's prefix up to its last block with a
 * {@code cache_control} (system blocks first, then the messages' blocks) is the cached
 * prefix; its words are {@code cache_creation_input_tokens} the first time the mock sees
 * that prefix (of that model) since its counters were reset, and
 * {@code cache_read_input_tokens} every time after; {@code input_tokens} are the other
 * words. A prompt without {@code cache_control} reads and writes nothing.
 */
public final class AnthropicJson {
  private AnthropicJson() {}

  /**
   * A messages call: what the OpenAI side reads of a chat call ({@code promptTokens}: the
   * uncached input tokens), the tokens written to and read from the prompt cache, and the
   * cached prefix's key (null without one).
   */
  public record MessagesCall(ChatCall chat, int cacheWrite, int cacheRead, String prefix) {}

  /** A request body read; {@code cache} holds the prefixes seen (the mock's prompt cache). */
  public static MessagesCall parse(String body, Set<String> cache) throws BadRequest {
    JsonNode root = OpenAiJson.object(body);
    if (!root.path("max_tokens").canConvertToInt() || root.path("max_tokens").asInt() < 1) {
      throw new BadRequest("max_tokens: Field required");
    }
    if (!root.path("messages").isArray()) {
      throw new BadRequest("messages: Field required");
    }
    String model = root.path("model").asText("mock-model");
    // The words so far, the words up to the last cache breakpoint, and the prefix text's length there.
    int[] words = {0, 0, 0};
    StringBuilder prefix = new StringBuilder(model);
    JsonNode system = root.path("system");
    if (system.isTextual()) {
      words[0] += OpenAiJson.countWords(system.asText());
      prefix.append('\n').append(system.asText());
    } else {
      blocks(system, words, prefix);
    }
    for (JsonNode message : root.path("messages")) {
      prefix.append('\n').append(message.path("role").asText()).append(':');
      JsonNode content = message.path("content");
      if (content.isTextual()) {
        words[0] += OpenAiJson.countWords(content.asText());
        prefix.append(content.asText());
      } else {
        blocks(content, words, prefix);
      }
    }
    int cached = words[1];
    String key = cached > 0 ? prefix.substring(0, words[2]) : null;
    int write = 0;
    int read = 0;
    if (key != null) {
      if (cache.add(key)) {
        write = cached;
      } else {
        read = cached;
      }
    }
    JsonNode choice = root.path("tool_choice");
    String tool = "tool".equals(choice.path("type").asText()) ? choice.path("name").asText(null)
        : "any".equals(choice.path("type").asText()) ? root.path("tools").path(0).path("name").asText(null) : null;
    ChatCall chat = new ChatCall(model, root.path("stream").asBoolean(false), true, words[0] - cached,
        root.path("max_tokens").asInt(), tool);
    return new MessagesCall(chat, write, read, key);
  }

  private static void blocks(JsonNode blocks, int[] words, StringBuilder prefix) {
    for (JsonNode block : blocks) {
      String text = switch (block.path("type").asText()) {
        case "text" -> block.path("text").asText("");
        case "tool_result" -> block.path("content").isTextual() ? block.path("content").asText()
            : textOf(block.path("content"));
        case "tool_use" -> block.path("input").toString();
        default -> "";
      };
      words[0] += OpenAiJson.countWords(text);
      prefix.append('\n').append(block.path("type").asText()).append(':').append(text);
      if (block.has("cache_control")) {
        words[1] = words[0];
        words[2] = prefix.length();
      }
    }
  }

  private static String textOf(JsonNode blocks) {
    StringBuilder text = new StringBuilder();
    for (JsonNode block : blocks) {
      text.append(block.path("text").asText("")).append(' ');
    }
    return text.toString();
  }

  /** Anthropic's stop reason for an answer of {@code configured} pieces. */
  static String stopReason(MessagesCall call, int configured) {
    return call.chat().tool() != null ? "tool_use"
        : call.chat().chunks(configured) < configured ? "max_tokens" : "end_turn";
  }

  /** A whole answer of {@code pieces} pieces: a {@code message}. */
  public static ByteString message(String id, MessagesCall call, int pieces, int configured) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("id", id);
    root.put("type", "message");
    root.put("role", "assistant");
    root.put("model", call.chat().model());
    var content = root.putArray("content");
    if (call.chat().tool() != null) {
      ObjectNode use = content.addObject().put("type", "tool_use").put("id", "toolu_mock_1")
          .put("name", call.chat().tool());
      use.putObject("input").put("q", OpenAiJson.fullText(pieces).strip());
    } else {
      content.addObject().put("type", "text").put("text", OpenAiJson.fullText(pieces));
    }
    root.put("stop_reason", stopReason(call, configured));
    root.putNull("stop_sequence");
    usage(root.putObject("usage"), call, pieces);
    return bytes(root);
  }

  private static void usage(ObjectNode usage, MessagesCall call, int output) {
    usage.put("input_tokens", call.chat().promptTokens());
    usage.put("cache_creation_input_tokens", call.cacheWrite());
    usage.put("cache_read_input_tokens", call.cacheRead());
    usage.put("output_tokens", output);
  }

  /** Anthropic's error body for {@code status}. */
  public static ByteString error(int status, String message) {
    String type = switch (status) {
      case 400 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 529 -> "overloaded_error";
      default -> "api_error";
    };
    ObjectNode root = Json.MAPPER.createObjectNode().put("type", "error");
    root.putObject("error").put("type", type).put("message", message);
    return bytes(root);
  }

  private static ByteString bytes(JsonNode node) {
    return OpenAiJson.bytes(node);
  }

  /** The events of one stream, each with its {@code event:} line, as Anthropic sends them. */
  public static final class Frames implements ChatResponses.Frames {
    private final String id;
    private final MessagesCall call;
    private final int configured;

    public Frames(String id, MessagesCall call, int configured) {
      this.id = id;
      this.call = call;
      this.configured = configured;
    }

    @Override
    public ByteString open() {
      ObjectNode start = Json.MAPPER.createObjectNode().put("type", "message_start");
      ObjectNode message = start.putObject("message").put("id", id).put("type", "message").put("role", "assistant")
          .put("model", call.chat().model());
      message.putArray("content");
      message.putNull("stop_reason");
      message.putNull("stop_sequence");
      usage(message.putObject("usage"), call, 1);
      String block = call.chat().tool() == null ? "{\"type\":\"text\",\"text\":\"\"}"
          : "{\"type\":\"tool_use\",\"id\":\"toolu_mock_1\",\"name\":" + quoted(call.chat().tool()) + ",\"input\":{}}";
      return event("message_start", bytes(start).utf8String())
          .concat(event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
              + block + "}"))
          .concat(event("ping", "{\"type\": \"ping\"}"));
    }

    @Override
    public ByteString piece(int index, int pieces) {
      String delta = call.chat().tool() == null
          ? "{\"type\":\"text_delta\",\"text\":\"" + OpenAiJson.piece(index) + "\"}"
          : "{\"type\":\"input_json_delta\",\"partial_json\":\"" + OpenAiJson.argumentsPiece(index, pieces) + "\"}";
      return event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":" + delta + "}");
    }

    @Override
    public List<ByteString> tail(int pieces) {
      return List.of(event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"),
          event("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\""
              + stopReason(call, configured) + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" + pieces + "}}"));
    }

    @Override
    public ByteString done() {
      return event("message_stop", "{\"type\":\"message_stop\"}");
    }

    private static ByteString event(String name, String data) {
      return ByteString.fromString("event: " + name + "\ndata: " + data + "\n\n", StandardCharsets.UTF_8);
    }

    private static String quoted(String s) {
      try {
        return Json.MAPPER.writeValueAsString(s);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
