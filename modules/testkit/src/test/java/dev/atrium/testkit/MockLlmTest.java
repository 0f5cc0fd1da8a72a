package dev.atrium.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.atrium.core.Json;
import dev.atrium.testkit.MockLlm.Behaviour;
import dev.atrium.testkit.MockLlm.Stats;
import dev.atrium.testkit.mockllm.MockLlmOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MockLlmTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(ConfigFactory.parseString("pekko.actor.provider = local"));

  private static final String HELLO = "{\"model\":\"gpt-test\",\"messages\":"
      + "[{\"role\":\"user\",\"content\":\"hello there world\"}]";

  // A server per test: connection counts and pooled client connections stay per test.
  private MockLlm mock;
  private TestHttp http;

  @BeforeEach
  void startMock() {
    mock = MockLlm.start(testKit.system(), "127.0.0.1", 0);
    http = new TestHttp("127.0.0.1", mock.port());
  }

  @AfterEach
  void closeMock() {
    mock.close();
  }

  @AfterAll
  static void shutDown() {
    testKit.shutdownTestKit();
  }

  @Test
  void baseUrlIncludesV1LikeOpenAis() {
    assertThat(mock.port()).isPositive();
    assertThat(mock.baseUrl()).isEqualTo("http://127.0.0.1:" + mock.port() + "/v1");
  }

  @Test
  void answersNonStreamingCompletionWithUsage() {
    mock.configure(Behaviour.defaults().withChunks(3));
    String body = HELLO + "}";

    HttpResponse<String> response = http.postJson("/v1/chat/completions", body);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode json = TestHttp.json(response);
    assertThat(json.get("id").asText()).startsWith("chatcmpl-mock-");
    assertThat(json.get("object").asText()).isEqualTo("chat.completion");
    assertThat(json.get("created").isIntegralNumber()).isTrue();
    assertThat(json.get("model").asText()).isEqualTo("gpt-test");
    JsonNode choice = json.get("choices").get(0);
    assertThat(choice.get("index").asInt()).isZero();
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").asText()).isEqualTo("t0 t1 t2 ");
    assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    assertUsage(json.get("usage"), 3, 3);
    Stats stats = mock.stats();
    assertThat(stats.requests()).isEqualTo(1);
    assertThat(stats.tokensGenerated()).isEqualTo(3);
    assertThat(stats.lastRequestBody()).isEqualTo(body);
  }

  @Test
  void streamsOpenAisFramingWithoutUsageUnlessAsked() {
    mock.configure(Behaviour.defaults().withChunks(3));

    HttpResponse<String> response =
        http.postJson("/v1/chat/completions", HELLO + ",\"stream\":true}");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue("text/event-stream");
    List<String> events = events(response.body());
    assertThat(events).hasSize(6).last().isEqualTo("[DONE]");
    List<JsonNode> chunks = events.subList(0, 5).stream().map(MockLlmTest::parse).toList();
    String id = chunks.get(0).get("id").asText();
    for (JsonNode chunk : chunks) {
      assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.get("id").asText()).isEqualTo(id).startsWith("chatcmpl-mock-");
      assertThat(chunk.get("model").asText()).isEqualTo("gpt-test");
      assertThat(chunk.has("usage")).isFalse();
    }
    assertThat(delta(chunks.get(0)).get("role").asText()).isEqualTo("assistant");
    assertThat(delta(chunks.get(0)).get("content").asText()).isEmpty();
    for (int i = 0; i < 3; i++) {
      assertThat(delta(chunks.get(i + 1)).get("content").asText()).isEqualTo("t" + i + " ");
      assertThat(chunks.get(i + 1).get("choices").get(0).get("finish_reason").isNull()).isTrue();
    }
    assertThat(delta(chunks.get(4)).isEmpty()).isTrue();
    assertThat(chunks.get(4).get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    Stats stats = awaitStats(s -> s.streamsCompleted() == 1 && s.openStreams() == 0);
    assertThat(stats.tokensGenerated()).isEqualTo(3);
    assertThat(stats.streamsCancelled()).isZero();
  }

  @Test
  void endsStreamWithUsageChunkWhenIncludeUsageIsAsked() {
    mock.configure(Behaviour.defaults().withChunks(2));

    HttpResponse<String> response = http.postJson("/v1/chat/completions",
        HELLO + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");

    List<String> events = events(response.body());
    assertThat(events).hasSize(6).last().isEqualTo("[DONE]");
    JsonNode usageChunk = parse(events.get(4));
    assertThat(usageChunk.get("choices").isEmpty()).isTrue();
    assertUsage(usageChunk.get("usage"), 3, 2);
    for (String event : events.subList(0, 4)) {
      assertThat(parse(event).get("usage").isNull()).isTrue();
    }
  }

  @Test
  void countsPromptWordsOfTextPartsAndStrings() {
    String body = "{\"model\":\"m\",\"messages\":["
        + "{\"role\":\"system\",\"content\":\"  be   brief \"},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"one two\\nthree\"},"
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/y z\"}},"
        + "{\"type\":\"text\",\"text\":\"four\"}]}],\"temperature\":0.2}";

    JsonNode json = TestHttp.json(http.postJson("/v1/chat/completions", body));

    assertUsage(json.get("usage"), 6, 8);
  }

  @Test
  void waitsForFirstTokenAndBetweenChunks() throws Exception {
    mock.configure(Behaviour.defaults().withChunks(4)
        .withFirstTokenDelay(Duration.ofMillis(300)).withChunkDelay(Duration.ofMillis(50)));

    long start = System.nanoTime();
    HttpResponse<InputStream> response = http.client().send(
        streamRequest(HELLO + ",\"stream\":true}"), HttpResponse.BodyHandlers.ofInputStream());
    long firstToken = 0;
    List<String> lines = new ArrayList<>();
    try (BufferedReader reader = new BufferedReader(
        new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (firstToken == 0 && line.contains("\"content\":\"t0 \"")) {
          firstToken = System.nanoTime();
        }
        lines.add(line);
      }
    }
    long end = System.nanoTime();
    assertThat(lines).contains("data: [DONE]");
    assertThat(Duration.ofNanos(firstToken - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThat(Duration.ofNanos(end - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300 + 3 * 50));

    start = System.nanoTime();
    HttpResponse<String> whole = http.postJson("/v1/chat/completions", HELLO + "}");
    assertThat(whole.statusCode()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300 + 4 * 50));
  }

  @Test
  void failsTheFirstRequestsThenAnswers() {
    mock.configure(Behaviour.defaults().failing(503, 2));

    for (int i = 0; i < 2; i++) {
      HttpResponse<String> failed = http.postJson("/v1/chat/completions", HELLO + ",\"stream\":true}");
      assertThat(failed.statusCode()).isEqualTo(503);
      JsonNode error = TestHttp.json(failed).get("error");
      assertThat(error.get("type").asText()).isEqualTo("server_error");
      assertThat(error.get("code").asText()).isEqualTo("mock_failure");
      assertThat(error.get("message").asText()).isNotBlank();
      assertThat(error.has("param")).isTrue();
      assertThat(error.get("param").isNull()).isTrue();
    }
    assertThat(http.postJson("/v1/chat/completions", HELLO + "}").statusCode()).isEqualTo(200);

    mock.configure(Behaviour.defaults().failing(429, Integer.MAX_VALUE));
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> limited = http.postJson("/v1/chat/completions", HELLO + "}");
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(TestHttp.json(limited).get("error").get("type").asText())
          .isEqualTo("invalid_request_error");
    }
    assertThat(mock.stats().requests()).isEqualTo(6);
    assertThat(mock.stats().tokensGenerated()).isEqualTo(8);
  }

  @Test
  void droppingAfterChunksBreaksTheStream() throws Exception {
    mock.configure(Behaviour.defaults().withChunks(10).droppingAfter(2));

    HttpResponse<InputStream> response = http.client().send(
        streamRequest(HELLO + ",\"stream\":true}"), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(response.statusCode()).isEqualTo(200);
    List<String> lines = new ArrayList<>();
    IOException broken = null;
    try (BufferedReader reader = new BufferedReader(
        new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lines.add(line);
      }
    } catch (IOException e) {
      broken = e;
    }

    assertThat(broken).as("a truncated chunked body is an error, not a clean end").isNotNull();
    assertThat(lines).doesNotContain("data: [DONE]");
    assertThat(lines).filteredOn(line -> line.contains("\"content\":\"t")).hasSize(2);
    Stats stats = awaitStats(s -> s.openStreams() == 0 && s.openConnections() == 0);
    assertThat(stats.streamsCompleted()).isZero();
    assertThat(stats.streamsCancelled()).isZero();
    assertThat(stats.tokensGenerated()).isEqualTo(2);
  }

  @Test
  void countsAClientThatLeavesMidStreamAsCancelled() throws Exception {
    mock.configure(Behaviour.defaults().withChunks(1000).withChunkDelay(Duration.ofMillis(20)));

    try (Socket socket = new Socket("127.0.0.1", mock.port())) {
      sendRawStreamRequest(socket);
      readUntil(socket.getInputStream(), "t2 ");
    }

    Stats stats = awaitStats(s -> s.streamsCancelled() == 1 && s.openStreams() == 0);
    assertThat(stats.streamsCompleted()).isZero();
    assertThat(stats.tokensGenerated()).isBetween(3L, 999L);
  }

  @Test
  void countsOpenConnectionsAndStreamsWhileAStreamRuns() throws Exception {
    mock.configure(Behaviour.defaults().withChunks(1000).withChunkDelay(Duration.ofMillis(20)));
    assertThat(mock.stats().openConnections()).isZero();

    try (Socket socket = new Socket("127.0.0.1", mock.port())) {
      awaitStats(s -> s.openConnections() == 1 && s.openStreams() == 0);
      sendRawStreamRequest(socket);
      readUntil(socket.getInputStream(), "t0 ");
      Stats during = mock.stats();
      assertThat(during.openConnections()).isEqualTo(1);
      assertThat(during.openStreams()).isEqualTo(1);
    }

    awaitStats(s -> s.openConnections() == 0 && s.openStreams() == 0);
  }

  @Test
  void recordsHeaderNamesOfTheLastRequestInLowerCase() {
    http.postJson("/v1/chat/completions", HELLO + "}",
        "Authorization", "Bearer sk-upstream", "X-Trace-Id", "abc");

    assertThat(mock.stats().lastRequestHeaders())
        .contains("authorization", "x-trace-id", "content-type", "content-length", "host")
        .doesNotContain("timeout-access")
        .allSatisfy(name -> assertThat(name).isLowerCase());
  }

  @Test
  void resetStatsClearsCounters() {
    http.postJson("/v1/chat/completions", HELLO + "}");
    mock.resetStats();

    Stats stats = mock.stats();
    assertThat(stats.requests()).isZero();
    assertThat(stats.tokensGenerated()).isZero();
    assertThat(stats.lastRequestBody()).isEmpty();
  }

  @Test
  void listsTheMockModel() {
    HttpResponse<String> response = http.get("/v1/models");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode json = TestHttp.json(response);
    assertThat(json.get("object").asText()).isEqualTo("list");
    JsonNode model = json.get("data").get(0);
    assertThat(model.get("id").asText()).isEqualTo("mock-model");
    assertThat(model.get("object").asText()).isEqualTo("model");
    assertThat(model.get("owned_by").asText()).isEqualTo("mock");
  }

  @Test
  void answersEmbeddingsWithEqualVectorsForEqualTextsAndTheInputsWordsAsUsage() {
    HttpResponse<String> response = http.postJson("/v1/embeddings",
        "{\"model\": \"mock-embed\", \"input\": [\"one two three\", \"four\", \"one two three\"]}");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode json = TestHttp.json(response);
    assertThat(json.path("model").asText()).isEqualTo("mock-embed");
    assertThat(json.path("usage").path("prompt_tokens").asInt()).isEqualTo(7);
    JsonNode data = json.path("data");
    assertThat(data).hasSize(3);
    assertThat(data.get(1).path("index").asInt()).isEqualTo(1);
    assertThat(data.get(0).path("embedding")).hasSize(8).isEqualTo(data.get(2).path("embedding"))
        .isNotEqualTo(data.get(1).path("embedding"));
    double norm = 0;
    for (JsonNode v : data.get(0).path("embedding")) {
      norm += v.asDouble() * v.asDouble();
    }
    assertThat(norm).isCloseTo(1.0, within(1e-9));

    HttpResponse<String> noInput = http.postJson("/v1/embeddings", "{\"model\": \"mock-embed\"}");
    assertThat(noInput.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(noInput).path("error").path("type").asText()).isEqualTo("invalid_request_error");
  }

  @Test
  void answersUnknownPathsAndMalformedBodiesWithOpenAiErrors() {
    HttpResponse<String> unknown = http.postJson("/v1/audio/transcriptions", "{}");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(unknown).get("error").get("code").asText()).isEqualTo("unknown_url");

    HttpResponse<String> malformed = http.postJson("/v1/chat/completions", "{\"model\":");
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(malformed).get("error").get("type").asText())
        .isEqualTo("invalid_request_error");
  }

  @Test
  void parsesTheStandaloneCommandLine() {
    MockLlmOptions options = MockLlmOptions.parse("--port", "9100", "--chunks", "5",
        "--delay-ms", "10", "--first-token-delay-ms", "200", "--host", "0.0.0.0");

    assertThat(options.host()).isEqualTo("0.0.0.0");
    assertThat(options.port()).isEqualTo(9100);
    assertThat(options.behaviour()).isEqualTo(Behaviour.defaults().withChunks(5)
        .withChunkDelay(Duration.ofMillis(10)).withFirstTokenDelay(Duration.ofMillis(200)));
    assertThat(MockLlmOptions.parse()).isEqualTo(
        new MockLlmOptions("127.0.0.1", 0, Behaviour.defaults()));
    assertThatThrownBy(() -> MockLlmOptions.parse("--port", "x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--port");
    assertThatThrownBy(() -> MockLlmOptions.parse("--chunks"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--chunks");
    assertThatThrownBy(() -> MockLlmOptions.parse("--verbose", "1"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--verbose");
  }

  private HttpRequest streamRequest(String body) {
    return http.request("/v1/chat/completions")
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private void sendRawStreamRequest(Socket socket) throws IOException {
    byte[] body = (HELLO + ",\"stream\":true}").getBytes(StandardCharsets.UTF_8);
    String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
    OutputStream out = socket.getOutputStream();
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
  }

  /** Reads until the text has arrived, so the stream is known to be flowing. */
  private static void readUntil(InputStream in, String text) throws IOException {
    StringBuilder seen = new StringBuilder();
    byte[] buffer = new byte[4096];
    while (seen.indexOf(text) < 0) {
      int n = in.read(buffer);
      if (n < 0) {
        throw new AssertionError("stream ended before '" + text + "': " + seen);
      }
      seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
    }
  }

  /** Counters move after the client has its bytes, so tests poll instead of sleeping. */
  private Stats awaitStats(Predicate<Stats> condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    Stats stats = mock.stats();
    while (!condition.test(stats)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("counters never reached the expected state: " + stats);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      stats = mock.stats();
    }
    return stats;
  }

  /** OpenAI's framing exactly: "data: " with the space, events separated by a blank line. */
  private static List<String> events(String body) {
    assertThat(body).endsWith("\n\n");
    List<String> events = Arrays.stream(body.split("\n\n", -1)).filter(e -> !e.isEmpty()).toList();
    assertThat(events).allSatisfy(event -> assertThat(event).startsWith("data: ").doesNotContain("\n"));
    return events.stream().map(event -> event.substring("data: ".length())).toList();
  }

  private static JsonNode parse(String json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode delta(JsonNode chunk) {
    return chunk.get("choices").get(0).get("delta");
  }

  private static void assertUsage(JsonNode usage, int prompt, int completion) {
    assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(prompt);
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(completion);
    assertThat(usage.get("total_tokens").asInt()).isEqualTo(prompt + completion);
  }
}
