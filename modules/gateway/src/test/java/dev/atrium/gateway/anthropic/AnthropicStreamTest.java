package dev.atrium.gateway.anthropic;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** Anthropic's events and message from canonical events and answers. */
class AnthropicStreamTest {

  /** One frame as (event name, data JSON), checking the framing the SDKs parse. */
  record Frame(String event, JsonNode data) {}

  static List<Frame> parse(List<ByteString> frames) throws Exception {
    List<Frame> parsed = new ArrayList<>();
    for (ByteString bytes : frames) {
      String text = bytes.utf8String();
      assertThat(text).startsWith("event: ").endsWith("\n\n");
      for (String block : text.substring(0, text.length() - 2).split("\n\n")) {
        String[] lines = block.split("\n");
        assertThat(lines).hasSize(2);
        assertThat(lines[1]).startsWith("data: ");
        Frame frame = new Frame(lines[0].substring(7), Json.MAPPER.readTree(lines[1].substring(6)));
        assertThat(frame.data().path("type").asText()).isEqualTo(frame.event());
        parsed.add(frame);
      }
    }
    return parsed;
  }

  @Test
  void textThenToolCallsAreBlocksWithIncreasingIndexes() throws Exception {
    AnthropicStream stream = new AnthropicStream("msg_1", "my \"model\"", 42);
    List<ByteString> out = new ArrayList<>(List.of(stream.start()));
    out.addAll(stream.frames(ChatEvent.Delta.text("Let me \"look\"\n")));
    out.addAll(stream.frames(new ChatEvent.Usage(1, 1)));
    out.addAll(stream.frames(new ChatEvent.Delta("", List.of(
        new ChatEvent.ToolCallDelta(0, "call_a", "function", "lookup", "{\"q\":"),
        new ChatEvent.ToolCallDelta(0, null, null, null, "\"cat\"}")), null)));
    out.addAll(stream.frames(new ChatEvent.Delta("", List.of(
        new ChatEvent.ToolCallDelta(1, "call_b", "function", "fetch", "")), null)));
    out.addAll(stream.frames(new ChatEvent.Delta("", List.of(
        new ChatEvent.ToolCallDelta(1, null, null, null, "{}")), null)));
    out.addAll(stream.frames(new ChatEvent.Finish("tool_calls")));
    out.addAll(stream.end("tool_calls", new ChatEvent.Usage(34, 7, 10, 4)));
    List<Frame> frames = parse(out);

    assertThat(frames).extracting(Frame::event).containsExactly("message_start", "ping",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop");
    JsonNode start = frames.get(0).data().path("message");
    assertThat(start.path("id").asText()).isEqualTo("msg_1");
    assertThat(start.path("model").asText()).isEqualTo("my \"model\"");
    assertThat(start.path("usage").path("input_tokens").asInt()).isEqualTo(42);
    assertThat(frames.get(2).data().path("index").asInt()).isZero();
    assertThat(frames.get(3).data().path("delta").path("text").asText()).isEqualTo("Let me \"look\"\n");
    assertThat(frames.get(5).data().path("index").asInt()).isEqualTo(1);
    assertThat(frames.get(5).data().path("content_block")).isEqualTo(Json.MAPPER.readTree(
        "{\"type\": \"tool_use\", \"id\": \"call_a\", \"name\": \"lookup\", \"input\": {}}"));
    assertThat(frames.get(6).data().path("delta").path("partial_json").asText()
        + frames.get(7).data().path("delta").path("partial_json").asText()).isEqualTo("{\"q\":\"cat\"}");
    assertThat(frames.get(8).data().path("index").asInt()).isEqualTo(1);
    assertThat(frames.get(9).data().path("index").asInt()).isEqualTo(2);
    assertThat(frames.get(10).data().path("index").asInt()).isEqualTo(2);
    assertThat(frames.get(11).data().path("index").asInt()).isEqualTo(2);
    JsonNode delta = frames.get(12).data();
    assertThat(delta.path("delta").path("stop_reason").asText()).isEqualTo("tool_use");
    assertThat(delta.path("delta").path("stop_sequence").isNull()).isTrue();
    assertThat(delta.path("usage")).isEqualTo(Json.MAPPER.readTree(
        "{\"input_tokens\": 20, \"output_tokens\": 7, \"cache_creation_input_tokens\": 4,"
            + " \"cache_read_input_tokens\": 10}"));
  }

  @Test
  void anAnswerWithoutContentHasNoBlocksAndAnErrorIsItsOwnEvent() throws Exception {
    AnthropicStream stream = new AnthropicStream("msg_2", "m", 3);
    assertThat(stream.frames(ChatEvent.Delta.text(""))).isEmpty();
    assertThat(parse(stream.end("length", new ChatEvent.Usage(3, 0)))).extracting(Frame::event)
        .containsExactly("message_delta", "message_stop");
    Frame error = parse(List.of(AnthropicStream.error("overloaded_error", "busy"))).get(0);
    assertThat(error.data()).isEqualTo(Json.MAPPER.readTree(
        "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"busy\"}}"));
    assertThat(parse(List.of(AnthropicStream.PING)).get(0).event()).isEqualTo("ping");
  }

  @Test
  void aWholeAnswerIsAMessageWithTextAndToolUseBlocks() throws Exception {
    ChatMessage answer = new ChatMessage("assistant", "Looking.", null, List.of(
        new ChatMessage.ToolCall("call_1", "function", "lookup", "{\"q\": \"cat\"}"),
        new ChatMessage.ToolCall("call_2", "function", "broken", "not json")), null, null);
    JsonNode message = AnthropicResponses.message("msg_3", "mock", answer, "tool_calls", new ChatEvent.Usage(12, 5));
    assertThat(message).isEqualTo(Json.MAPPER.readTree("""
        {"id": "msg_3", "type": "message", "role": "assistant", "model": "mock",
         "content": [{"type": "text", "text": "Looking."},
                     {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "cat"}},
                     {"type": "tool_use", "id": "call_2", "name": "broken", "input": {"arguments": "not json"}}],
         "stop_reason": "tool_use", "stop_sequence": null,
         "usage": {"input_tokens": 12, "output_tokens": 5}}"""));
    JsonNode empty = AnthropicResponses.message("msg_4", "mock", ChatMessage.assistant(""), "length",
        new ChatEvent.Usage(1, 0));
    assertThat(empty.path("content")).isEqualTo(Json.MAPPER.readTree("[{\"type\": \"text\", \"text\": \"\"}]"));
    assertThat(empty.path("stop_reason").asText()).isEqualTo("max_tokens");
  }

  @Test
  void stopReasonsMapBothWays() {
    assertThat(List.of("stop", "length", "tool_calls", "content_filter")).extracting(AnthropicStopReasons::toAnthropic)
        .containsExactly("end_turn", "max_tokens", "tool_use", "refusal");
    assertThat(List.of("end_turn", "max_tokens", "tool_use", "refusal", "stop_sequence", "pause_turn",
        "model_context_window_exceeded", "something_new"))
        .extracting(AnthropicStopReasons::toCanonical)
        .containsExactly("stop", "length", "tool_calls", "content_filter", "stop", "stop", "length", "stop");
    assertThat(AnthropicStopReasons.toAnthropic(null)).isEqualTo("end_turn");
  }
}
