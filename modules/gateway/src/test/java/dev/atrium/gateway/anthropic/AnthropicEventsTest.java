package dev.atrium.gateway.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatResult;
import dev.atrium.gateway.ProviderException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Anthropic's stream read as bytes (split anywhere), its stop reasons and usage, its errors; a whole message. */
class AnthropicEventsTest {
  static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("anthropic-events",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  static String event(String name, String data) {
    return "event: " + name + "\r\ndata: " + data + "\r\n\r\n";
  }

  static final String START = event("message_start", """
      {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],\
      "model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,\
      "cache_creation_input_tokens":100,"cache_read_input_tokens":30,"output_tokens":1}}}""");
  static final String PING = event("ping", "{\"type\": \"ping\"}");

  /** A text block, then two tool calls (blocks 1 and 2), ending with {@code stopReason}. */
  static String body(String stopReason) {
    return START
        + event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
        + PING
        + event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hé \\\"you\\\"\\n\"}}")
        + event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}")
        + event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
        + event("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"weather\",\"input\":{}}}")
        + event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}")
        + event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}")
        + event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
        + event("content_block_start", "{\"index\":2,\"content_block\":{\"name\":\"now\",\"type\":\"tool_use\",\"id\":\"toolu_2\",\"input\":{}},\"type\":\"content_block_start\"}")
        + event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}")
        + event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}")
        + event("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" + stopReason
            + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}")
        + event("message_stop", "{\"type\":\"message_stop\"}");
  }

  static List<ByteString> pieces(String body, int size) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    List<ByteString> pieces = new ArrayList<>();
    for (int i = 0; i < bytes.length; i += size) {
      pieces.add(ByteString.fromArray(bytes, i, Math.min(size, bytes.length - i)));
    }
    return pieces;
  }

  static List<ChatEvent> events(List<ByteString> body) throws Exception {
    return Source.from(body).via(new AnthropicEvents(1 << 20, Duration.ofSeconds(2)))
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();
  }

  @Test
  void aStreamSplitAnywhereGivesTextToolCallsFinishAndUsage() throws Exception {
    List<ChatEvent> expected = List.of(
        ChatEvent.Delta.text("Hé \"you\"\n"),
        new ChatEvent.Delta("", List.of(new ChatEvent.ToolCallDelta(0, "toolu_1", "function", "weather", "")), null),
        new ChatEvent.Delta("", List.of(new ChatEvent.ToolCallDelta(0, null, null, null, "{\"city\": ")), null),
        new ChatEvent.Delta("", List.of(new ChatEvent.ToolCallDelta(0, null, null, null, "\"Paris\"}")), null),
        new ChatEvent.Delta("", List.of(new ChatEvent.ToolCallDelta(1, "toolu_2", "function", "now", "")), null),
        new ChatEvent.Delta("", List.of(new ChatEvent.ToolCallDelta(1, null, null, null, "{}")), null),
        new ChatEvent.Finish("tool_calls"),
        // The whole prompt: 12 uncached + 100 written to the cache + 30 read from it.
        new ChatEvent.Usage(142, 15, 30, 100));
    String body = body("tool_use");
    for (int size : new int[] {1, 2, 3, 5, 17, 64, body.length()}) {
      assertThat(events(pieces(body, size))).as("pieces of %d bytes", size).isEqualTo(expected);
    }
  }

  @Test
  void stopReasonsAreOpenAisFinishReasons() throws Exception {
    for (var c : List.of(List.of("end_turn", "stop"), List.of("stop_sequence", "stop"), List.of("max_tokens", "length"),
        List.of("tool_use", "tool_calls"), List.of("refusal", "content_filter"), List.of("pause_turn", "stop"))) {
      List<ChatEvent> events = events(pieces(body(c.get(0)), 1000));
      assertThat(events.get(events.size() - 2)).isEqualTo(new ChatEvent.Finish(c.get(1)));
    }
  }

  @Test
  void aBodyEndingWithoutMessageStopIsTruncated() {
    String body = body("end_turn");
    String cut = body.substring(0, body.indexOf("event: message_stop"));
    assertThatThrownBy(() -> events(pieces(cut, 7)))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(ProviderException.class, e -> {
          assertThat(e.code()).isEqualTo("upstream_truncated");
          assertThat(e.retryable()).isTrue();
        });
  }

  @Test
  void anErrorEventFailsTheStreamRetryableOnlyWhenOverloadedOrAnApiError() {
    for (var c : List.of(List.of("overloaded_error", "529", "true"), List.of("api_error", "500", "true"),
        List.of("invalid_request_error", "400", "false"), List.of("rate_limit_error", "429", "false"))) {
      String body = START + PING + event("error", "{\"type\":\"error\",\"error\":{\"type\":\"" + c.get(0)
          + "\",\"message\":\"Overloaded\"}}");
      assertThatThrownBy(() -> events(pieces(body, 9)))
          .isInstanceOf(ExecutionException.class)
          .cause().isInstanceOfSatisfying(ProviderException.class, e -> {
            assertThat(e.status()).isEqualTo(Integer.parseInt(c.get(1)));
            assertThat(e.retryable()).isEqualTo(Boolean.parseBoolean(c.get(2)));
            assertThat(e.getMessage()).contains(c.get(0));
          });
    }
  }

  @Test
  void anEventThatIsNotJsonIsMalformed() {
    assertThatThrownBy(() -> events(pieces(START + "data: {nope\n\n", 100)))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(ProviderException.class, e -> assertThat(e.code()).isEqualTo("upstream_malformed"));
  }

  @Test
  void aWholeMessageIsAResultWithToolCallsStopReasonAndUsage() throws Exception {
    ChatResult result = AnthropicProvider.result(Json.MAPPER.readTree("""
        {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
         "content": [{"type": "thinking", "thinking": "hm", "signature": "s"},
                     {"type": "text", "text": "Let me look. "}, {"type": "text", "text": "One moment."},
                     {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}],
         "stop_reason": "tool_use", "stop_sequence": null,
         "usage": {"input_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 40,
                   "output_tokens": 9}}"""));
    assertThat(result.content()).isEqualTo("Let me look. One moment.");
    assertThat(result.message().toolCalls()).containsExactly(
        new ChatMessage.ToolCall("toolu_1", "function", "weather", "{\"city\":\"Paris\"}"));
    assertThat(result.finishReason()).isEqualTo("tool_calls");
    assertThat(result.usage()).isEqualTo(new ChatEvent.Usage(45, 9, 40, 0));

    ChatResult plain = AnthropicProvider.result(Json.MAPPER.readTree("""
        {"type": "message", "content": [{"type": "text", "text": "Hi"}], "stop_reason": "max_tokens",
         "usage": {"input_tokens": 3, "output_tokens": 1}}"""));
    assertThat(plain.finishReason()).isEqualTo("length");
    assertThat(plain.usage()).isEqualTo(new ChatEvent.Usage(3, 1, 0, 0));
    assertThatThrownBy(() -> AnthropicProvider.result(Json.MAPPER.readTree("""
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}""")))
        .isInstanceOfSatisfying(ProviderException.class, e -> assertThat(e.status()).isEqualTo(529));
  }
}
