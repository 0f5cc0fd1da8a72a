package dev.atrium.compat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceAny;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Anthropic's official Java SDK (anthropic-java, OkHttp), unchanged but for its base URL and
 * key, against {@code /v1/messages} of a node whose model is an OpenAI-compatible upstream.
 */
class AnthropicJavaClientTest {
  /** The mock's answer to eight pieces: {@code t0 t1 ... t7 }. */
  private static final String ANSWER = "t0 t1 t2 t3 t4 t5 t6 t7 ";

  @TempDir static Path workDir;
  private static MockBackedNode node;
  private static AnthropicClient client;

  @BeforeAll
  static void startNode() {
    node = MockBackedNode.start("anthropic-java", workDir);
    client = client(MockBackedNode.API_KEY);
  }

  @AfterAll
  static void stopNode() {
    if (client != null) {
      client.close();
    }
    if (node != null) {
      node.close();
    }
  }

  private static AnthropicClient client(String apiKey) {
    return AnthropicOkHttpClient.builder()
        .baseUrl(node.baseUrl().toString())
        .apiKey(apiKey)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  private static MessageCreateParams.Builder hello(String model) {
    return MessageCreateParams.builder().model(model).maxTokens(256).addUserMessage("Hello from anthropic-java");
  }

  @Test
  void answersAMessageWithUsage() {
    Message message = client.messages().create(hello(MockBackedNode.MODEL).system("Be brief.").build());

    assertThat(message.id()).startsWith("msg_");
    assertThat(message.model().asString()).isEqualTo(MockBackedNode.MODEL);
    assertThat(message.content()).hasSize(1);
    assertThat(message.content().get(0).text()).hasValueSatisfying(t -> assertThat(t.text()).isEqualTo(ANSWER));
    assertThat(message.stopReason()).contains(StopReason.END_TURN);
    assertThat(message.usage().inputTokens()).isPositive();
    assertThat(message.usage().outputTokens()).isEqualTo(8);
  }

  @Test
  void streamsAMessageWhoseTextAndUsageAccumulate() {
    MessageAccumulator accumulator = MessageAccumulator.create();
    StringBuilder text = new StringBuilder();
    try (StreamResponse<RawMessageStreamEvent> stream =
             client.messages().createStreaming(hello(MockBackedNode.MODEL).build())) {
      stream.stream().forEach(event -> {
        accumulator.accumulate(event);
        event.contentBlockDelta().flatMap(d -> d.delta().text()).ifPresent(d -> text.append(d.text()));
      });
    }
    Message message = accumulator.message();

    assertThat(text.toString()).isEqualTo(ANSWER);
    assertThat(message.content()).singleElement().satisfies(block ->
        assertThat(block.text()).hasValueSatisfying(t -> assertThat(t.text()).isEqualTo(ANSWER)));
    assertThat(message.stopReason()).contains(StopReason.END_TURN);
    assertThat(message.usage().outputTokens()).isEqualTo(8);
    assertThat(message.usage().inputTokens()).isPositive();
  }

  @Test
  void aToolUseRoundTrip() {
    Tool lookup = Tool.builder().name("lookup").description("Looks a word up")
        .inputSchema(Tool.InputSchema.builder().build()).build();
    MessageCreateParams ask = hello(MockBackedNode.MODEL).addTool(lookup).toolChoice(ToolChoiceAny.builder().build())
        .build();
    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(ask)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Message called = accumulator.message();
    assertThat(called.stopReason()).contains(StopReason.TOOL_USE);
    ToolUseBlock use = called.content().stream().flatMap(b -> b.toolUse().stream()).findFirst().orElseThrow();
    assertThat(use.name()).isEqualTo("lookup");
    assertThat(use.id()).isEqualTo("call_mock_1");
    JsonNode input = new ObjectMapper().valueToTree(use._input());
    assertThat(input.path("q").asText()).isEqualTo(ANSWER.strip());

    Message answered = client.messages().create(hello(MockBackedNode.MODEL).addTool(lookup)
        .addMessage(called)
        .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(
            ToolResultBlockParam.builder().toolUseId(use.id()).content("a word").build())))
        .build());
    assertThat(answered.stopReason()).contains(StopReason.END_TURN);
    assertThat(answered.content()).extracting(ContentBlock::isText).containsExactly(true);
    assertThat(answered.usage().inputTokens()).isGreaterThan(called.usage().inputTokens());
  }

  @Test
  void aMessageWithASessionIdIsATurnOfThatSession() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    var created = http.send(HttpRequest.newBuilder(node.baseUrl().resolve("/v1/chat/sessions"))
            .header("x-api-key", MockBackedNode.API_KEY).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).isEqualTo(201);
    String sessionId = new ObjectMapper().readTree(created.body()).path("id").asText();

    Message message = client.messages().create(MessageCreateParams.builder().model(MockBackedNode.MODEL).maxTokens(64)
        .addUserMessage("Remember this turn").putAdditionalHeader("x-session-id", sessionId).build());
    assertThat(message.content().get(0).text()).hasValueSatisfying(t -> assertThat(t.text()).isEqualTo(ANSWER));

    var history = http.send(HttpRequest.newBuilder(node.baseUrl().resolve("/v1/chat/sessions/" + sessionId + "/messages"))
        .header("x-api-key", MockBackedNode.API_KEY).GET().build(), HttpResponse.BodyHandlers.ofString());
    JsonNode stored = new ObjectMapper().readTree(history.body()).path("data");
    assertThat(stored.findValuesAsText("content")).containsExactly("Remember this turn", ANSWER);
  }

  @Test
  void errorsRaiseTheSdksTypedExceptions() {
    AnthropicClient wrongKey = client("not-a-key");
    try {
      assertThatThrownBy(() -> wrongKey.messages().create(hello(MockBackedNode.MODEL).build()))
          .isInstanceOfSatisfying(UnauthorizedException.class, e -> {
            assertThat(e.statusCode()).isEqualTo(401);
            assertThat(e.requestId()).hasValueSatisfying(id -> assertThat(id).startsWith("req_"));
          });
    } finally {
      wrongKey.close();
    }
    assertThatThrownBy(() -> client.messages().create(hello("claude-nope").build()))
        .isInstanceOfSatisfying(NotFoundException.class, e -> assertThat(e.statusCode()).isEqualTo(404));
    assertThatThrownBy(() -> client.messages().create(hello(MockBackedNode.MODEL).container("container_1").build()))
        .isInstanceOfSatisfying(BadRequestException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(400);
          assertThat(e.getMessage()).contains("container");
        });
  }
}
