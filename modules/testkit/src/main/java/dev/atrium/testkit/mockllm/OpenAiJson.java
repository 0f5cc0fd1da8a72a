package dev.atrium.testkit.mockllm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.pekko.util.ByteString;

/**
 * OpenAI's wire format as the mock model speaks it. The JSON is written with ObjectNode
 * or by hand, never from records: OpenAI's names are already snake_case and Atrium's
 * mapper would rename camelCase record components.
 */
public final class OpenAiJson {
  private OpenAiJson() {}

  /**
   * What the mock needs from a chat request; every other field is ignored. {@code maxTokens}
   * ({@code max_completion_tokens}, else {@code max_tokens}; 0 when absent) caps the answer's
   * chunks, as it caps a real model's tokens: one mock serves short and long answers in one run.
   * {@code tool}: the function the request makes the model call ({@code tool_choice} naming
   * one, or {@code "required"} with tools: the first), null for a text answer.
   */
  public record ChatCall(String model, boolean stream, boolean includeUsage, int promptTokens, int maxTokens,
      String tool) {
    /** The chunks of the answer: the configured number, capped by {@code maxTokens}. */
    public int chunks(int configured) {
      return maxTokens > 0 ? Math.min(configured, maxTokens) : configured;
    }

    /**
     * Why the answer of {@code configured} chunks ends: {@code length} when {@code maxTokens}
     * cut it short, as a real model says of a truncated answer, else {@code stop}.
     */
    public String finishReason(int configured) {
      return chunks(configured) < configured ? "length" : "stop";
    }
  }

  /** Thrown for a body that is not a JSON object, so the caller can answer 400. */
  public static final class BadRequest extends Exception {
    public BadRequest(String message) {
      super(message, null, false, false);
    }
  }

  public static ChatCall parseChat(String body) throws BadRequest {
    JsonNode root = object(body);
    String model = root.path("model").isTextual() ? root.get("model").asText() : "mock-model";
    boolean stream = root.path("stream").asBoolean(false);
    boolean includeUsage = root.path("stream_options").path("include_usage").asBoolean(false);
    int words = 0;
    for (JsonNode message : root.path("messages")) {
      JsonNode content = message.path("content");
      if (content.isTextual()) {
        words += countWords(content.asText());
      } else if (content.isArray()) {
        for (JsonNode part : content) {
          if ("text".equals(part.path("type").asText())) {
            words += countWords(part.path("text").asText());
          }
        }
      }
    }
    int maxTokens = root.path("max_completion_tokens").asInt(root.path("max_tokens").asInt(0));
    JsonNode choice = root.path("tool_choice");
    String tool = choice.path("function").path("name").isTextual() ? choice.path("function").path("name").asText()
        : "required".equals(choice.asText()) && root.path("tools").path(0).path("function").path("name").isTextual()
            ? root.path("tools").path(0).path("function").path("name").asText() : null;
    return new ChatCall(model, stream, includeUsage, words, Math.max(0, maxTokens), tool);
  }

  /** A request body that must be a JSON object. */
  static JsonNode object(String body) throws BadRequest {
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(body);
    } catch (IOException e) {
      throw new BadRequest("The request body is not valid JSON.");
    }
    if (root == null || !root.isObject()) {
      throw new BadRequest("The request body must be a JSON object.");
    }
    return root;
  }

  /**
   * Whitespace-separated words; a loop rather than a regex split because every request pays
   * it. The mock's "tokens": of a chat prompt, and of embedding inputs.
   */
  public static int countWords(String text) {
    int words = 0;
    boolean inWord = false;
    for (int i = 0; i < text.length(); i++) {
      boolean space = Character.isWhitespace(text.charAt(i));
      if (!space && !inWord) {
        words++;
      }
      inWord = !space;
    }
    return words;
  }

  /**
   * Piece {@code index} of {@code pieces} of a tool call's arguments ({@code {"q": "t0 t1 ..."}}),
   * escaped as the content of a JSON string.
   */
  public static String argumentsPiece(int index, int pieces) {
    String arguments = index == 0 ? "{\\\"q\\\": \\\"" : "";
    return arguments + piece(index).strip() + (index + 1 < pieces ? " " : "\\\"}");
  }

  public static String piece(int index) {
    return "t" + index + " ";
  }

  public static String fullText(int chunks) {
    StringBuilder text = new StringBuilder(chunks * 4);
    for (int i = 0; i < chunks; i++) {
      text.append(piece(i));
    }
    return text.toString();
  }

  public static ByteString completion(String id, long created, ChatCall call, int chunks, String finishReason) {
    return completion(id, created, call, fullText(chunks), chunks, finishReason);
  }

  /** A whole answer of {@code text} ({@code chunks} completion tokens). */
  public static ByteString completion(String id, long created, ChatCall call, String text, int chunks,
      String finishReason) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("id", id);
    root.put("object", "chat.completion");
    root.put("created", created);
    root.put("model", call.model());
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.put("content", text);
    message.putNull("refusal");
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    usage(root.putObject("usage"), call.promptTokens(), chunks);
    return bytes(root);
  }

  /** Width of the mock's embeddings. */
  public static final int EMBEDDING_WIDTH = 8;

  /**
   * An embeddings answer: {@code input} (a string or an array of strings) as unit vectors of
   * {@link #EMBEDDING_WIDTH} derived from each text's hash (equal texts, equal vectors), and
   * {@code usage.prompt_tokens} the inputs' words ({@link #countWords}).
   */
  public static ByteString embeddings(String body) throws BadRequest {
    JsonNode root = object(body);
    JsonNode input = root.path("input");
    if (!(input.isTextual() || input.isArray())) {
      throw new BadRequest("input must be a string or an array of strings.");
    }
    ObjectNode out = Json.MAPPER.createObjectNode().put("object", "list");
    var data = out.putArray("data");
    int tokens = 0;
    int index = 0;
    for (JsonNode item : input.isTextual() ? List.of(input) : (Iterable<JsonNode>) input::elements) {
      String text = item.asText();
      tokens += countWords(text);
      java.util.Random random = new java.util.Random(text.hashCode());
      double[] vector = new double[EMBEDDING_WIDTH];
      double norm = 0;
      for (int i = 0; i < vector.length; i++) {
        vector[i] = random.nextGaussian();
        norm += vector[i] * vector[i];
      }
      var values = data.addObject().put("object", "embedding").put("index", index++).putArray("embedding");
      for (double v : vector) {
        values.add(v / Math.sqrt(norm));
      }
    }
    out.put("model", root.path("model").asText("mock-embedding"));
    out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
    return bytes(out);
  }

  public static ByteString error(int status, String message, String code) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", message);
    error.put("type", status < 500 ? "invalid_request_error" : "server_error");
    error.putNull("param");
    error.put("code", code);
    return bytes(root);
  }

  public static final ByteString MODELS = ByteString.fromString(
      "{\"object\":\"list\",\"data\":[{\"id\":\"mock-model\",\"object\":\"model\","
          + "\"created\":0,\"owned_by\":\"mock\"}]}");

  private static void usage(ObjectNode usage, int prompt, int completion) {
    usage.put("prompt_tokens", prompt);
    usage.put("completion_tokens", completion);
    usage.put("total_tokens", prompt + completion);
  }

  static ByteString bytes(JsonNode node) {
    try {
      return ByteString.fromArray(Json.MAPPER.writeValueAsBytes(node));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The SSE events of one stream. The constant part of every chunk is rendered once per
   * stream, so a chunk costs one string concatenation: benchmarks run 64 streams on 2 cores.
   */
  public static final class StreamFrames {
    public static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");

    private final String head;
    private final String tail;

    public StreamFrames(String id, long created, ChatCall call) {
      String model;
      try {
        model = Json.MAPPER.writeValueAsString(call.model());
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      this.head = "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":"
          + created + ",\"model\":" + model + ",\"choices\":";
      // With include_usage OpenAI puts "usage": null on every chunk but the last.
      this.tail = (call.includeUsage() ? ",\"usage\":null" : "") + "}\n\n";
    }

    public ByteString role() {
      return choice("{\"role\":\"assistant\",\"content\":\"\"}", "null");
    }

    public ByteString content(int index) {
      return choice("{\"content\":\"" + piece(index) + "\"}", "null");
    }

    /** A content chunk of any {@code text} (a scripted answer), JSON-escaped. */
    public ByteString text(String text) {
      try {
        return choice("{\"content\":" + Json.MAPPER.writeValueAsString(text) + "}", "null");
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The last piece's chunk: {@code reason} is {@code stop}, or {@code length} for an answer cut short. */
    public ByteString stop(String reason) {
      return choice("{}", "\"" + reason + "\"");
    }

    /**
     * Piece {@code index} of a streamed call of {@code tool}, as OpenAI streams one: the
     * first names the call, the others add to its arguments ({@code {"q": "t0 t1 ..."}}).
     */
    public ByteString toolCall(String tool, int index, int pieces) {
      String arguments = argumentsPiece(index, pieces);
      if (index == 0) {
        return choice("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_mock_1\","
            + "\"type\":\"function\",\"function\":{\"name\":\"" + tool + "\",\"arguments\":\"" + arguments + "\"}}]}", "null");
      }
      return choice("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"" + arguments + "\"}}]}", "null");
    }

    public ByteString toolCallsStop() {
      return choice("{}", "\"tool_calls\"");
    }

    public ByteString usage(int prompt, int completion) {
      return ByteString.fromString(head + "[],\"usage\":{\"prompt_tokens\":" + prompt
          + ",\"completion_tokens\":" + completion + ",\"total_tokens\":" + (prompt + completion)
          + "}}\n\n", StandardCharsets.UTF_8);
    }

    private ByteString choice(String delta, String finishReason) {
      return ByteString.fromString(head + "[{\"index\":0,\"delta\":" + delta
          + ",\"logprobs\":null,\"finish_reason\":" + finishReason + "}]" + tail,
          StandardCharsets.UTF_8);
    }
  }
}
