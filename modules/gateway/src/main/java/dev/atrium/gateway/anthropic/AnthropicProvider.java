package dev.atrium.gateway.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.ChatResult;
import dev.atrium.gateway.ModelProvider;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.ProviderHttp;
import dev.atrium.gateway.byok.ProviderKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Anthropic's Messages API ({@code POST {base_url}/v1/messages}; a base URL ending in
 * {@code /v1} is taken as it is) over the Pekko HTTP client ({@link ProviderHttp}: the
 * templates, the resend rule, timeouts, error bodies, as for OpenAI). The key comes from the
 * environment variable the tenant file names and goes as {@code x-api-key}, with the
 * provider's {@code anthropic-version}; it is never logged. The canonical request is written
 * by {@link AnthropicBody}, a stream read by {@link AnthropicEvents}, a whole answer by
 * {@link #result}; errors keep OpenAI's classes (408, 429 and 5xx, Anthropic's 529
 * "overloaded" among them, are retryable; other 4xx are not; 401/403 "refused the gateway's
 * credentials").
 */
public final class AnthropicProvider implements ModelProvider {
  private final String name;
  /** The request line and the version header, without credentials: shared with the caller-key instances. */
  private final HttpRequest post;
  private final ProviderHttp http;

  public AnthropicProvider(ActorSystem<?> system, String name, TenantConfig.ProviderSettings settings,
      Optional<String> apiKey) {
    this.name = name;
    this.post = post(settings);
    this.http = new ProviderHttp(system, authorized(post, apiKey.orElse(null)), Duration.ofMillis(settings.timeoutMs()));
  }

  private AnthropicProvider(String name, HttpRequest post, ProviderHttp http) {
    this.name = name;
    this.post = post;
    this.http = http;
  }

  static HttpRequest post(TenantConfig.ProviderSettings settings) {
    String base = settings.baseUrl().replaceAll("/+$", "");
    return ProviderHttp.post(base, base.endsWith("/v1") ? "/messages" : "/v1/messages")
        .addHeader(RawHeader.create("anthropic-version", settings.anthropicVersion()));
  }

  private static HttpRequest authorized(HttpRequest post, String key) {
    return key == null ? post : post.addHeader(RawHeader.create("x-api-key", key));
  }

  /** This provider with the caller's key (x-anthropic-key) for one call: the request line is shared, the key is this call's. */
  @Override
  public ModelProvider withCallerKey(ProviderKey key) {
    return new AnthropicProvider(name, post, http.withCallerKey(authorized(post, key.secret()), key));
  }

  @Override
  public String label() {
    return "anthropic:" + name;
  }

  @Override
  public Source<ChatEvent, NotUsed> stream(ChatRequest request) {
    // Cold: the body is written and sent when the source is materialised, once per materialisation.
    return http.stream(() -> AnthropicBody.write(request, true),
        () -> Flow.fromGraph(new AnthropicEvents(http.maxEventSize())));
  }

  @Override
  public CompletionStage<ChatResult> complete(ChatRequest request) {
    return http.complete(() -> AnthropicBody.write(request, false), AnthropicProvider::result);
  }

  /**
   * A whole answer (a {@code message} object): its text blocks joined, its {@code tool_use}
   * blocks as tool calls (their {@code input} as the arguments' JSON text), the stop reason
   * as OpenAI's finish reason, and the usage as {@link AnthropicEvents} counts it. An
   * {@code error} object, as some proxies answer with 200, is the error it reports.
   */
  static ChatResult result(JsonNode message) {
    if ("error".equals(message.path("type").asText())) {
      throw AnthropicEvents.error(message.path("error").path("type").asText("error"),
          message.path("error").path("message").asText(""));
    }
    if (!message.path("content").isArray()) {
      throw new ProviderException(502, "upstream_malformed", "the model server answered without content", true);
    }
    StringBuilder text = new StringBuilder();
    List<ChatMessage.ToolCall> calls = new ArrayList<>();
    for (JsonNode block : message.get("content")) {
      switch (block.path("type").asText()) {
        case "text" -> text.append(block.path("text").asText(""));
        case "tool_use" -> calls.add(new ChatMessage.ToolCall(block.path("id").asText(), "function",
            block.path("name").asText(), block.has("input") ? json(block.get("input")) : "{}"));
        default -> {
          // thinking blocks and the like are not part of the answer
        }
      }
    }
    JsonNode usage = message.path("usage");
    int cacheWrite = usage.path("cache_creation_input_tokens").asInt(0);
    int cacheRead = usage.path("cache_read_input_tokens").asInt(0);
    ChatMessage answer = new ChatMessage("assistant", text.isEmpty() && !calls.isEmpty() ? null : text.toString(), null,
        calls, null, null);
    String stop = message.path("stop_reason").asText("end_turn");
    return new ChatResult(answer, AnthropicStopReasons.toCanonical(stop), usage.isObject()
        ? new ChatEvent.Usage(usage.path("input_tokens").asInt(0) + cacheWrite + cacheRead,
            usage.path("output_tokens").asInt(0), cacheRead, cacheWrite) : null);
  }

  private static String json(JsonNode node) {
    try {
      return Json.MAPPER.writeValueAsString(node);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
