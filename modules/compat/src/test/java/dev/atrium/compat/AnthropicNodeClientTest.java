package dev.atrium.compat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official {@code @anthropic-ai/sdk} npm package under Node.js, unchanged but for its
 * base URL and key: {@code src/test/node/anthropic-check.mjs} makes the calls against a node
 * whose model is an OpenAI-compatible upstream and prints what it got as JSON; this test
 * asserts on it.
 */
class AnthropicNodeClientTest {
  private static final NodeScripts NODE = NodeScripts.ofThisModule();
  private static final String ANSWER = "t0 t1 t2 t3 t4 t5 t6 t7 ";

  @TempDir static Path workDir;
  private static MockBackedNode node;
  private static JsonNode result;

  @BeforeAll
  static void startNodeAndRunTheScript() throws Exception {
    NODE.install();
    node = MockBackedNode.start("anthropic-node", workDir);
    NodeScripts.Run run = NODE.node("anthropic-check.mjs",
        Map.of("ATRIUM_BASE_URL", node.baseUrl().toString(), "ATRIUM_API_KEY", MockBackedNode.API_KEY),
        Duration.ofSeconds(60));
    assertThat(run.exitCode()).as("anthropic-check.mjs failed; stderr:\n%s", run.stderr()).isZero();
    result = new ObjectMapper().readTree(run.lastLine());
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void answersAMessageWithUsage() {
    JsonNode message = result.path("nonStreaming");
    assertThat(message.path("id").asText()).startsWith("msg_");
    assertThat(message.path("type").asText()).isEqualTo("message");
    assertThat(message.path("model").asText()).isEqualTo(MockBackedNode.MODEL);
    assertThat(message.path("content").size()).isEqualTo(1);
    assertThat(message.path("content").get(0).path("text").asText()).isEqualTo(ANSWER);
    assertThat(message.path("stopReason").asText()).isEqualTo("end_turn");
    assertThat(message.path("usage").path("input_tokens").asInt()).isPositive();
    assertThat(message.path("usage").path("output_tokens").asInt()).isEqualTo(8);
  }

  @Test
  void streamsAMessageWhoseTextAccumulatesAndWhoseFinalMessageHasUsage() {
    JsonNode streamed = result.path("streaming");
    assertThat(streamed.path("text").asText()).isEqualTo(ANSWER);
    List<String> events = StreamSupport.stream(streamed.path("events").spliterator(), false).map(JsonNode::asText)
        .toList();
    assertThat(events).startsWith("message_start", "content_block_start")
        .endsWith("content_block_stop", "message_delta", "message_stop")
        .doesNotContain("ping");
    assertThat(streamed.path("content").get(0).path("text").asText()).isEqualTo(ANSWER);
    assertThat(streamed.path("stopReason").asText()).isEqualTo("end_turn");
    assertThat(streamed.path("usage").path("output_tokens").asInt()).isEqualTo(8);
    assertThat(streamed.path("usage").path("input_tokens").asInt()).isPositive();
  }

  @Test
  void aToolUseRoundTrip() {
    JsonNode tool = result.path("toolUse");
    assertThat(tool.path("calledStopReason").asText()).isEqualTo("tool_use");
    assertThat(tool.path("use").path("type").asText()).isEqualTo("tool_use");
    assertThat(tool.path("use").path("id").asText()).isEqualTo("call_mock_1");
    assertThat(tool.path("use").path("name").asText()).isEqualTo("lookup");
    assertThat(tool.path("use").path("input").path("q").asText()).isEqualTo(ANSWER.strip());
    assertThat(tool.path("answeredStopReason").asText()).isEqualTo("end_turn");
    assertThat(tool.path("answeredContent").get(0).path("text").asText()).isEqualTo(ANSWER);
  }

  @Test
  void aMessageWithASessionIdIsATurnOfThatSession() {
    JsonNode session = result.path("session");
    assertThat(session.path("createStatus").asInt()).isEqualTo(201);
    assertThat(session.path("text").asText()).isEqualTo(ANSWER);
    assertThat(session.path("history").findValuesAsText("content")).containsExactly("Remember this turn", ANSWER);
    assertThat(session.path("history").findValuesAsText("role")).containsExactly("user", "assistant");
  }

  @Test
  void errorsRaiseTheSdksTypedErrors() {
    JsonNode wrongKey = result.path("wrongKey");
    assertThat(wrongKey.path("raised").asText()).isEqualTo("AuthenticationError");
    assertThat(wrongKey.path("status").asInt()).isEqualTo(401);
    assertThat(wrongKey.path("type").asText()).isEqualTo("authentication_error");
    assertThat(wrongKey.path("requestId").asText()).startsWith("req_");
    JsonNode unknown = result.path("unknownModel");
    assertThat(unknown.path("raised").asText()).isEqualTo("NotFoundError");
    assertThat(unknown.path("type").asText()).isEqualTo("not_found_error");
    assertThat(unknown.path("message").asText()).contains("claude-nope");
    JsonNode bad = result.path("badRequest");
    assertThat(bad.path("raised").asText()).isEqualTo("BadRequestError");
    assertThat(bad.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(bad.path("message").asText()).startsWith("top_k:");
  }
}
