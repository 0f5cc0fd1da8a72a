package dev.atrium.compat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atrium.testkit.ServerProcess;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The official {@code openai} npm package under Node.js: {@code src/test/node/compat-check.mjs}
 * makes the calls and prints what it got as JSON; this test asserts on it.
 */
class OpenAiNodeClientTest {
  private static final NodeScripts NODE = NodeScripts.ofThisModule();

  private static ServerProcess node;
  private static JsonNode result;

  @BeforeAll
  static void startNodeAndRunTheScript() throws Exception {
    ServerProcess launched = ServerProcess.builder("openai-node", ServerProcess.launcherClasspath()).launch();
    try {
      // Installs (when the lock file changed) while the server's JVM starts.
      NODE.install();
      node = launched.awaitHealthy();
    } catch (RuntimeException e) {
      launched.kill();
      throw e;
    }
    Compat.awaitServing(node);
    NodeScripts.Run run = NODE.node("compat-check.mjs",
        Map.of("ATRIUM_BASE_URL", node.baseUrl().toString(), "ATRIUM_API_KEY", Compat.API_KEY), Duration.ofSeconds(60));
    assertThat(run.exitCode()).as("compat-check.mjs failed; stderr:\n%s", run.stderr()).isZero();
    result = new ObjectMapper().readTree(run.lastLine());
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void answersAChatCompletionWithUsage() {
    JsonNode completion = result.path("nonStreaming");
    assertThat(completion.path("object").asText()).isEqualTo("chat.completion");
    assertThat(completion.path("model").asText()).isEqualTo(Compat.MODEL);
    assertThat(completion.path("content").asText()).contains(Compat.NO_MODEL);
    assertThat(completion.path("finishReason").asText()).isEqualTo("stop");
    assertUsage(completion.path("usage"));
  }

  @Test
  void streamsTheSameAnswerEndingWithAUsageChunk() {
    JsonNode streamed = result.path("streaming");
    assertThat(streamed.path("chunks").asInt()).isGreaterThan(3);
    assertThat(streamed.path("content").asText()).isEqualTo(result.path("nonStreaming").path("content").asText());
    assertThat(streamed.path("finishReason").asText()).isEqualTo("stop");
    assertUsage(streamed.path("usage"));
    assertThat(streamed.path("usageChunkChoices").asInt(-1)).as("choices of the usage chunk").isZero();
  }

  @Test
  void aCompletionWithASessionIdIsATurnOfThatSession() {
    JsonNode session = result.path("session");
    assertThat(session.path("createStatus").asInt()).isEqualTo(201);
    assertThat(session.path("content").asText()).contains(Compat.NO_MODEL);
    assertThat(session.path("historyStatus").asInt()).isEqualTo(200);
    List<JsonNode> history = StreamSupport.stream(session.path("history").spliterator(), false).toList();
    assertThat(history).extracting(m -> m.path("role").asText()).containsExactly("user", "assistant");
    assertThat(history.get(0).path("content").asText()).isEqualTo("Remember this turn");
    assertThat(history.get(1).path("content").asText()).isEqualTo(session.path("content").asText());
  }

  @Test
  void anUnknownModelRaisesNotFoundError() {
    JsonNode error = result.path("unknownModel");
    assertThat(error.path("raised").asText()).isEqualTo("NotFoundError");
    assertThat(error.path("status").asInt()).isEqualTo(404);
    assertThat(error.path("code").asText()).isEqualTo("model_not_found");
    assertThat(error.path("param").asText()).isEqualTo("model");
  }

  private static void assertUsage(JsonNode usage) {
    int prompt = usage.path("prompt_tokens").asInt();
    int completion = usage.path("completion_tokens").asInt();
    assertThat(prompt).isPositive();
    assertThat(completion).isPositive();
    assertThat(usage.path("total_tokens").asInt()).isEqualTo(prompt + completion);
  }
}
