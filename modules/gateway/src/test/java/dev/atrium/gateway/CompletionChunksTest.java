package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** The OpenAI door's chunk frames: the upstream's delta bytes spliced in, only id and model its own. */
class CompletionChunksTest {
  final CompletionChunks frames = new CompletionChunks("chatcmpl-1", 1700000000L, "my \"model\"");

  static JsonNode json(ByteString frame) throws Exception {
    String text = frame.utf8String();
    assertThat(text).startsWith("data: ").endsWith("\n\n");
    return Json.MAPPER.readTree(text.substring(6));
  }

  @Test
  void splicesTheUpstreamsDeltaBytesUnchanged() throws Exception {
    String raw = "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\":\"}}],\"x_vendor\":[1,{}]}";
    ByteString frame = frames.delta(new ChatEvent.Delta("", List.of(), ByteString.fromString(raw)));
    assertThat(frame.utf8String()).contains("\"delta\":" + raw + ",");
    JsonNode chunk = json(frame);
    assertThat(chunk.path("id").asText()).isEqualTo("chatcmpl-1");
    assertThat(chunk.path("model").asText()).isEqualTo("my \"model\"");
    assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(chunk.path("created").asLong()).isEqualTo(1700000000L);
    assertThat(chunk.path("choices").get(0).path("delta")).isEqualTo(Json.MAPPER.readTree(raw));
    assertThat(chunk.path("choices").get(0).path("finish_reason").isNull()).isTrue();
  }

  @Test
  void writesTextWithoutUpstreamBytesTheRoleTheFinishAndUsage() throws Exception {
    assertThat(json(frames.delta(ChatEvent.Delta.text("a \"b\"\n"))).path("choices").get(0).path("delta")
        .path("content").asText()).isEqualTo("a \"b\"\n");
    assertThat(json(frames.role()).path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
    assertThat(json(frames.finish("length")).path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
    JsonNode usage = json(frames.usage(new ChatEvent.Usage(10, 5, 4)));
    assertThat(usage.path("choices")).isEmpty();
    assertThat(usage.path("usage").path("total_tokens").asInt()).isEqualTo(15);
    assertThat(usage.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt()).isEqualTo(4);
    assertThat(json(frames.usage(new ChatEvent.Usage(1, 2))).path("usage").has("prompt_tokens_details")).isFalse();
  }

  @Test
  void writesToolCallFragmentsInOpenAisShapeWithoutUpstreamBytes() throws Exception {
    JsonNode first = json(frames.delta(new ChatEvent.Delta("", List.of(
        new ChatEvent.ToolCallDelta(0, "toolu_1", "function", "weather", "")), null)));
    assertThat(first.path("choices").get(0).path("delta")).isEqualTo(Json.MAPPER.readTree("""
        {"tool_calls": [{"index": 0, "id": "toolu_1", "type": "function",
                         "function": {"name": "weather", "arguments": ""}}]}"""));
    JsonNode later = json(frames.delta(new ChatEvent.Delta("Hm", List.of(
        new ChatEvent.ToolCallDelta(1, null, null, null, "{\"city\": \"Pa")), null)));
    assertThat(later.path("choices").get(0).path("delta")).isEqualTo(Json.MAPPER.readTree("""
        {"content": "Hm", "tool_calls": [{"index": 1, "function": {"arguments": "{\\"city\\": \\"Pa"}}]}"""));
  }
}
