package dev.atrium.compat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.testkit.ServerProcess;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.AuthenticationException;
import dev.langchain4j.exception.ModelNotFoundException;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * LangChain4j's OpenAI models with their default HTTP client, the JDK's, which on plain HTTP
 * asks to upgrade to HTTP/2 ({@code Connection: Upgrade, HTTP2-Settings}, {@code Upgrade: h2c}).
 */
class LangChain4jClientTest {
  private static final String PROMPT = "Hello from LangChain4j";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private static ServerProcess node;

  @BeforeAll
  static void startNode() {
    node = ServerProcess.builder("langchain4j", ServerProcess.launcherClasspath()).start();
    Compat.awaitServing(node);
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  private static OpenAiChatModel chatModel(String model, String apiKey) {
    return OpenAiChatModel.builder()
        .baseUrl(node.baseUrl() + "/v1")
        .apiKey(apiKey)
        .modelName(model)
        .maxRetries(0)
        .timeout(TIMEOUT)
        .build();
  }

  @Test
  void theChatModelAnswersWithUsage() {
    ChatResponse response = chatModel(Compat.MODEL, Compat.API_KEY).chat(UserMessage.from(PROMPT));

    assertThat(response.aiMessage().text()).contains(Compat.NO_MODEL);
    assertThat(response.finishReason()).isEqualTo(FinishReason.STOP);
    assertThat(response.modelName()).isEqualTo(Compat.MODEL);
    TokenUsage usage = response.tokenUsage();
    assertThat(usage.inputTokenCount()).isPositive();
    assertThat(usage.outputTokenCount()).isPositive();
    assertThat(usage.totalTokenCount()).isEqualTo(usage.inputTokenCount() + usage.outputTokenCount());
  }

  @Test
  void theStreamingChatModelStreamsTheSameAnswer() throws Exception {
    OpenAiStreamingChatModel model = OpenAiStreamingChatModel.builder()
        .baseUrl(node.baseUrl() + "/v1")
        .apiKey(Compat.API_KEY)
        .modelName(Compat.MODEL)
        .timeout(TIMEOUT)
        .build();
    List<String> partials = new CopyOnWriteArrayList<>();
    CompletableFuture<ChatResponse> done = new CompletableFuture<>();
    model.chat(PROMPT, new StreamingChatResponseHandler() {
      @Override
      public void onPartialResponse(String partial) {
        partials.add(partial);
      }

      @Override
      public void onCompleteResponse(ChatResponse response) {
        done.complete(response);
      }

      @Override
      public void onError(Throwable error) {
        done.completeExceptionally(error);
      }
    });
    ChatResponse response = done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

    assertThat(partials).hasSizeGreaterThan(3);
    assertThat(String.join("", partials)).isEqualTo(response.aiMessage().text()).contains(Compat.NO_MODEL);
    assertThat(response.finishReason()).isEqualTo(FinishReason.STOP);
    // LangChain4j asks for stream_options.include_usage; the usage chunk fills this in.
    assertThat(response.tokenUsage().outputTokenCount()).isPositive();
    // The same prompt, whole: the same answer.
    assertThat(response.aiMessage().text())
        .isEqualTo(chatModel(Compat.MODEL, Compat.API_KEY).chat(UserMessage.from(PROMPT)).aiMessage().text());
  }

  @Test
  void anUnknownModelRaisesModelNotFound() {
    assertThatThrownBy(() -> chatModel("no-such-model", Compat.API_KEY).chat(UserMessage.from(PROMPT)))
        .isInstanceOf(ModelNotFoundException.class)
        .hasMessageContaining("model_not_found");
  }

  @Test
  void aWrongKeyRaisesAuthentication() {
    assertThatThrownBy(() -> chatModel(Compat.MODEL, "not-a-key").chat(UserMessage.from(PROMPT)))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("invalid_api_key");
  }
}
