package dev.atrium.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.Json;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which answers the cache keeps, and how a kept one is given back. */
class CachedAnswerTest {
  static final ChatEvent.Usage USAGE = new ChatEvent.Usage(12, 5, 2);
  static final ChatMessage.ToolCall CALL = new ChatMessage.ToolCall("call_1", "function", "lookup", "{\"q\": \"x\"}");

  @Test
  void onlyACompleteAnswerWithTextOrToolCallsIsKept() {
    assertThat(CachedAnswer.of("four", List.of(), "stop", USAGE)).isPresent();
    assertThat(CachedAnswer.of("", List.of(CALL), "tool_calls", USAGE)).isPresent();
    assertThat(CachedAnswer.of("fo", List.of(), "length", USAGE)).as("truncated").isEmpty();
    assertThat(CachedAnswer.of("", List.of(), "content_filter", USAGE)).as("filtered").isEmpty();
    assertThat(CachedAnswer.of("four", List.of(), null, USAGE)).as("no finish: interrupted").isEmpty();
    assertThat(CachedAnswer.of("", List.of(), "stop", USAGE)).as("empty").isEmpty();
    assertThat(CachedAnswer.of(null, List.of(), "stop", USAGE)).as("empty").isEmpty();
    assertThat(CachedAnswer.of(new ChatResult(ChatMessage.assistant("four"), "length", USAGE))).isEmpty();
  }

  @Test
  void aKeptAnswerReplaysAsTextPiecesThenUsageThenFinish() {
    String text = "x".repeat(CachedAnswer.PIECE + 10);
    List<ChatEvent> events = CachedAnswer.of(text, List.of(), "stop", USAGE).orElseThrow().events();
    assertThat(events).hasSize(4);
    assertThat(events.get(0)).isEqualTo(ChatEvent.Delta.text("x".repeat(CachedAnswer.PIECE)));
    assertThat(events.get(1)).isEqualTo(ChatEvent.Delta.text("x".repeat(10)));
    assertThat(events.get(2)).isEqualTo(USAGE);
    assertThat(events.get(3)).isEqualTo(new ChatEvent.Finish("stop"));
  }

  @Test
  void aPieceNeverSplitsASurrogatePair() {
    String text = "x".repeat(CachedAnswer.PIECE - 1) + "\uD83D\uDE00" + "y";
    List<ChatEvent> events = CachedAnswer.of(text, List.of(), "stop", null).orElseThrow().events();
    StringBuilder joined = new StringBuilder();
    events.stream().filter(e -> e instanceof ChatEvent.Delta).forEach(e -> {
      String piece = ((ChatEvent.Delta) e).content();
      assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).isFalse();
      joined.append(piece);
    });
    assertThat(joined.toString()).isEqualTo(text);
    assertThat(events).last().isEqualTo(new ChatEvent.Finish("stop"));
  }

  @Test
  void aToolCallReplaysAsOneDeltaWithOpenAisBytesAndAsAWholeMessage() throws Exception {
    CachedAnswer answer = CachedAnswer.of("", List.of(CALL), "tool_calls", USAGE).orElseThrow();
    ChatEvent.Delta delta = (ChatEvent.Delta) answer.events().get(0);
    assertThat(delta.toolCalls()).containsExactly(new ChatEvent.ToolCallDelta(0, "call_1", "function", "lookup", "{\"q\": \"x\"}"));
    var raw = Json.MAPPER.readTree(delta.raw().utf8String());
    assertThat(raw.path("content").isNull()).isTrue();
    assertThat(raw.path("tool_calls").path(0).path("function").path("arguments").asText()).isEqualTo("{\"q\": \"x\"}");
    ChatResult whole = answer.result();
    assertThat(whole.message().toolCalls()).containsExactly(CALL);
    assertThat(whole.message().content()).isNull();
    assertThat(whole.finishReason()).isEqualTo("tool_calls");
    assertThat(whole.usage()).isEqualTo(USAGE);
  }

  @Test
  void itsJsonReadsBackAsTheSameAnswer() throws Exception {
    CachedAnswer answer = CachedAnswer.of("four", List.of(CALL), "stop", USAGE).orElseThrow();
    String json = Json.MAPPER.writeValueAsString(answer);
    assertThat(Json.MAPPER.readValue(json, CachedAnswer.class)).isEqualTo(answer);
  }

  @Test
  void anAnswerKeptBeforeCacheWritesWereCountedReadsWithNone() throws Exception {
    // The answer column as the response cache wrote it before usage had cache_write_prompt_tokens.
    String before = """
        {"text":"four","tool_calls":[],"finish_reason":"stop",
         "usage":{"prompt_tokens":10,"completion_tokens":2,"cached_prompt_tokens":4}}""";
    CachedAnswer answer = Json.MAPPER.readValue(before, CachedAnswer.class);
    assertThat(answer.usage()).isEqualTo(new ChatEvent.Usage(10, 2, 4, 0));
    CachedAnswer now = CachedAnswer.of("four", List.of(), "stop", new ChatEvent.Usage(10, 2, 4, 6)).orElseThrow();
    assertThat(Json.MAPPER.readValue(Json.MAPPER.writeValueAsString(now), CachedAnswer.class)).isEqualTo(now);
  }
}
