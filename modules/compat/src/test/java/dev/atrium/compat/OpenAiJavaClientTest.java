package dev.atrium.compat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import dev.atrium.testkit.ServerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** OpenAI's official Java SDK (openai-java, OkHttp) against a node started from the launcher's classpath. */
class OpenAiJavaClientTest {
  private static final String PROMPT = "Hello from openai-java";

  private static ServerProcess node;
  private static OpenAIClient client;

  @BeforeAll
  static void startNode() {
    node = ServerProcess.builder("openai-java", ServerProcess.launcherClasspath()).start();
    Compat.awaitServing(node);
    client = client(Compat.API_KEY);
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

  private static OpenAIClient client(String apiKey) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(node.baseUrl() + "/v1")
        .apiKey(apiKey)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  private static ChatCompletionCreateParams.Builder chat(String model) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage(PROMPT);
  }

  @Test
  void answersAChatCompletionWithUsage() {
    ChatCompletion completion = client.chat().completions().create(chat(Compat.MODEL).build());

    assertThat(completion.model()).isEqualTo(Compat.MODEL);
    assertThat(completion.choices()).hasSize(1);
    ChatCompletion.Choice choice = completion.choices().get(0);
    assertThat(choice.message().content()).hasValueSatisfying(text -> assertThat(text).contains(Compat.NO_MODEL));
    assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    CompletionUsage usage = completion.usage().orElseThrow();
    assertThat(usage.promptTokens()).isPositive();
    assertThat(usage.completionTokens()).isPositive();
    assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
  }

  @Test
  void streamsAChatCompletionEndingWithAUsageChunk() {
    var params = chat(Compat.MODEL)
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
        .build();
    ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> chunks.add(accumulator.accumulate(chunk)));
    }

    assertThat(chunks).hasSizeGreaterThan(3);
    ChatCompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.choices()).isEmpty();
    CompletionUsage usage = last.usage().orElseThrow();
    assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens()).isPositive();
    assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(chunk -> assertThat(chunk.usage()).isEmpty());

    ChatCompletion assembled = accumulator.chatCompletion();
    String streamed = assembled.choices().get(0).message().content().orElseThrow();
    assertThat(streamed).contains(Compat.NO_MODEL);
    assertThat(assembled.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(assembled.usage()).contains(usage);
    // The same prompt, whole: the streamed deltas add up to the same answer.
    String whole = client.chat().completions().create(chat(Compat.MODEL).build())
        .choices().get(0).message().content().orElseThrow();
    assertThat(streamed).isEqualTo(whole);
  }

  @Test
  void listsTheTenantsModels() {
    List<Model> models = client.models().list().data();
    // The demo tenant's models, sorted: OpenAI's (reached with the caller's own key) and the local responder.
    assertThat(models).extracting(Model::id).containsExactly("gpt-4o-mini", Compat.MODEL);
  }

  @Test
  void anUnknownModelRaisesNotFound() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("no-such-model").build()))
        .isInstanceOfSatisfying(NotFoundException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.code()).contains("model_not_found");
          assertThat(e.param()).contains("model");
        });
  }

  @Test
  void aWrongKeyRaisesUnauthorized() {
    OpenAIClient wrongKey = client("not-a-key");
    try {
      assertThatThrownBy(() -> wrongKey.chat().completions().create(chat(Compat.MODEL).build()))
          .isInstanceOfSatisfying(UnauthorizedException.class, e -> {
            assertThat(e.statusCode()).isEqualTo(401);
            assertThat(e.code()).contains("invalid_api_key");
          });
    } finally {
      wrongKey.close();
    }
  }
}
