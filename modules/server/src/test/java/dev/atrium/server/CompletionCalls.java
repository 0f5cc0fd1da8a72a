package dev.atrium.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Chat completions as the response cache's tests send and read them: the request, its
 * {@code x-atrium-cache}, the answer's text, an OpenAI stream's chunks.
 */
final class CompletionCalls {
  private CompletionCalls() {}

  /** A prompt no other test sends. */
  static String unique() {
    return "question " + UUID.randomUUID();
  }

  static HttpResponse<String> completion(TestHttp http, String key, boolean stream, String content, String... headers) {
    return completionBody(http, key, body(stream, content), headers);
  }

  static String body(boolean stream, String content) {
    return """
        {"model": "mock", "stream": %s, "stream_options": {"include_usage": true},
         "messages": [{"role": "user", "content": "%s"}]}""".formatted(stream, content);
  }

  static HttpResponse<String> completionBody(TestHttp http, String key, String body, String... headers) {
    List<String> all = new ArrayList<>(List.of("Authorization", "Bearer " + key));
    all.addAll(List.of(headers));
    return http.postJson("/v1/chat/completions", body, all.toArray(String[]::new));
  }

  static String cacheHeader(HttpResponse<?> response) {
    return response.headers().firstValue("x-atrium-cache").orElse("(none)");
  }

  /** The answer's text of a {@code chat.completion}. */
  static String text(HttpResponse<String> response) {
    return TestHttp.json(response).path("choices").path(0).path("message").path("content").asText();
  }

  /** The JSON of each {@code data:} line of an OpenAI stream, {@code [DONE]} as a text node. */
  static List<JsonNode> chunks(String body) {
    List<JsonNode> chunks = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("data: ")) {
        String data = line.substring(6);
        try {
          chunks.add(data.equals("[DONE]") ? Json.MAPPER.getNodeFactory().textNode(data) : Json.MAPPER.readTree(data));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    return chunks;
  }

  static String streamedText(List<JsonNode> chunks) {
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.path("choices").path(0).path("delta").path("content").asText("")));
    return text.toString();
  }

  static long tokens(Map<String, Object> usageRow) {
    return ((Number) usageRow.get("tokens_in")).longValue() + ((Number) usageRow.get("tokens_out")).longValue();
  }

}
