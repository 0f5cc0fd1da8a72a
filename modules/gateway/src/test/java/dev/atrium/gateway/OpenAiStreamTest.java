package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
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

/** The upstream's SSE body read as bytes: framing, chunk parsing, [DONE], usage, tool calls. */
class OpenAiStreamTest {
  static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("stream",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  static final String ROLE = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
      + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
      + "\"finish_reason\":null}],\"usage\":null}";
  static final String TEXT = "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hé \\\"you\\\"\\n\"},"
      + "\"finish_reason\":null}]}";
  static final String STOP = "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}";
  static final String USAGE = "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,"
      + "\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":8,\"audio_tokens\":0}}}";

  static String sse(String... data) {
    StringBuilder body = new StringBuilder();
    for (String d : data) {
      body.append("data: ").append(d).append("\n\n");
    }
    return body.toString();
  }

  /** The body cut into pieces of {@code size} bytes, as the network may deliver it. */
  static List<ByteString> pieces(String body, int size) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    List<ByteString> pieces = new ArrayList<>();
    for (int i = 0; i < bytes.length; i += size) {
      pieces.add(ByteString.fromArray(bytes, i, Math.min(size, bytes.length - i)));
    }
    return pieces;
  }

  static List<ChatEvent> events(List<ByteString> body) throws Exception {
    return Source.from(body).via(new OpenAiEvents(1 << 20, Duration.ofSeconds(2)))
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();
  }

  static List<String> framed(String body, int size) {
    SseFramer framer = new SseFramer(1 << 20);
    List<String> data = new ArrayList<>();
    for (ByteString piece : pieces(body, size)) {
      framer.feed(piece, (b, offset, length) -> data.add(new String(b, offset, length, StandardCharsets.UTF_8)));
    }
    return data;
  }

  @Test
  void framesEventsSplitAnywhereAcrossNetworkChunks() {
    String body = sse(ROLE, TEXT, STOP, USAGE, "[DONE]");
    List<String> expected = List.of(ROLE, TEXT, STOP, USAGE, "[DONE]");
    for (int size : new int[] {1, 2, 3, 7, 64, body.length()}) {
      assertThat(framed(body, size)).as("pieces of %d bytes", size).isEqualTo(expected);
    }
  }

  @Test
  void framesCrLfAndCrLineEndsMultiLineDataAndSkipsCommentsAndOtherFields() {
    String body = ": keep-alive\r\n\r\n"
        + "event: message\r\nid: 7\r\ndata: {\"a\":\r\ndata:1}\r\n\r\n"
        + ":ping\r\r"
        + "retry: 1000\rdata:x\r\r"
        + "data\n\n"
        + "data: [DONE]\n\n";
    for (int size : new int[] {1, 2, 5, body.length()}) {
      assertThat(framed(body, size)).as("pieces of %d bytes", size).containsExactly("{\"a\":\n1}", "x", "[DONE]");
    }
    assertThat(framed("\uFEFFdata: 1\n\n", 1)).containsExactly("1");
  }

  @Test
  void readsTextFinishAndUsageWithCachedTokens() throws Exception {
    for (int size : new int[] {1, 5, 1000}) {
      List<ChatEvent> events = events(pieces(sse(ROLE, TEXT, STOP, USAGE, "[DONE]"), size));
      // The role chunk ({"role":"assistant","content":""}) is no piece of the answer: no event.
      assertThat(events).hasSize(3);
      ChatEvent.Delta text = (ChatEvent.Delta) events.get(0);
      assertThat(text.content()).isEqualTo("Hé \"you\"\n");
      assertThat(text.raw().utf8String()).isEqualTo("{\"content\":\"Hé \\\"you\\\"\\n\"}");
      assertThat(events.get(1)).isEqualTo(new ChatEvent.Finish("stop"));
      assertThat(events.get(2)).isEqualTo(new ChatEvent.Usage(12, 3, 8));
    }
  }

  @Test
  void anOpeningChunkOfNullsAndEmptyContentIsNoEventButAnEmptyDeltaWithOtherMembersIs() throws Exception {
    String nulls = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
        + "\"delta\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null},\"finish_reason\":null}]}";
    String vendor = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
        + "\"delta\":{\"content\":\"\",\"reasoning_content\":\"thinking\"},\"finish_reason\":null}]}";
    List<ChatEvent> events = events(pieces(sse(nulls, vendor, TEXT, STOP, "[DONE]"), 7));
    assertThat(events).hasSize(3);
    ChatEvent.Delta reasoning = (ChatEvent.Delta) events.get(0);
    assertThat(reasoning.content()).isEmpty();
    assertThat(reasoning.raw().utf8String()).contains("reasoning_content");
    assertThat(((ChatEvent.Delta) events.get(1)).content()).isEqualTo("Hé \"you\"\n");
  }

  @Test
  void withoutAUsageChunkNoUsageIsReported() throws Exception {
    List<ChatEvent> events = events(pieces(sse(ROLE, TEXT, STOP, "[DONE]"), 3));
    assertThat(events).noneMatch(ChatEvent.Usage.class::isInstance);
    assertThat(events).last().isEqualTo(new ChatEvent.Finish("stop"));
  }

  @Test
  void passesToolCallDeltasThroughByteForByte() throws Exception {
    String first = "{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"\"}}";
    String start = "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" + first + "]}";
    String more = "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\": \\\"cat\\\"}\"}}]}";
    String chunk = "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":null}]}";
    List<ChatEvent> events = events(pieces(sse(chunk.formatted(start), chunk.formatted(more),
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}", "[DONE]"), 4));
    ChatEvent.Delta opening = (ChatEvent.Delta) events.get(0);
    assertThat(opening.content()).isEmpty();
    assertThat(opening.toolCalls()).containsExactly(new ChatEvent.ToolCallDelta(0, "call_1", "function", "lookup", ""));
    // The role is the door's to send; every other member stays as the upstream wrote it.
    assertThat(opening.raw().utf8String()).isEqualTo("{\"content\":null,\"tool_calls\":[" + first + "]}");
    ChatEvent.Delta arguments = (ChatEvent.Delta) events.get(1);
    assertThat(arguments.raw().utf8String()).isEqualTo(more);
    assertThat(arguments.toolCalls()).containsExactly(new ChatEvent.ToolCallDelta(0, null, null, null, "{\"q\": \"cat\"}"));
    assertThat(events.get(2)).isEqualTo(new ChatEvent.Finish("tool_calls"));
  }

  @Test
  void keepsUnknownDeltaMembersAndReadsOnlyTheFirstChoice() {
    String chunk = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\",\"reasoning_content\":{\"x\":[1,2]}}},"
        + "{\"index\":1,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}],\"system_fingerprint\":\"fp\"}";
    byte[] padded = ("xxxx" + chunk + "yy").getBytes(StandardCharsets.UTF_8);
    List<ChatEvent> out = new ArrayList<>();
    OpenAiChunk.read(padded, 4, padded.length - 6, out);
    assertThat(out).singleElement().isInstanceOfSatisfying(ChatEvent.Delta.class, d -> {
      assertThat(d.content()).isEqualTo("a");
      assertThat(d.raw().utf8String()).isEqualTo("{\"content\":\"a\",\"reasoning_content\":{\"x\":[1,2]}}");
    });
  }

  @Test
  void aBodyWithoutDoneWasCutShort() {
    assertThatThrownBy(() -> events(pieces(sse(ROLE, TEXT), 7)))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(ProviderException.class, e -> assertThat(e.code()).isEqualTo("upstream_truncated"));
  }

  @Test
  void anErrorChunkOrMalformedJsonFailsTheStream() {
    assertThatThrownBy(() -> events(pieces(sse(TEXT, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}"), 9)))
        .cause().isInstanceOf(ProviderException.class).hasMessageContaining("overloaded");
    assertThatThrownBy(() -> events(pieces(sse("not json"), 3)))
        .cause().isInstanceOfSatisfying(ProviderException.class, e -> assertThat(e.code()).isEqualTo("upstream_malformed"));
  }

  @Test
  void endsAtDoneWhileTheRestOfTheBodyIsStillRead() throws Exception {
    // An upstream that keeps its body open after [DONE]: the events end at once all the same.
    List<ChatEvent> events = Source.from(pieces(sse(TEXT, "[DONE]"), 5)).concat(Source.never())
        .via(new OpenAiEvents(1 << 20, Duration.ofMillis(200)))
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(events).hasSize(1);
  }
}
