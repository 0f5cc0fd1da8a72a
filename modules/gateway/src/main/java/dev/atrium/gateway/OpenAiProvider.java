package dev.atrium.gateway;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.byok.ProviderKey;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Any OpenAI-compatible chat completions server (OpenAI, vLLM, Ollama, llama.cpp, another
 * gateway) over the Pekko HTTP client ({@link ProviderHttp}: the templates, the resend rule,
 * timeouts, error bodies). The key comes from the environment variable the tenant file names
 * and is sent as a bearer token, never logged. Streams always ask for usage and are read by
 * {@link OpenAiEvents}, in the stream that asked for them.
 */
public final class OpenAiProvider implements ModelProvider {
  private final String name;
  /** The request line without credentials, parsed once and shared with the caller-key instances. */
  private final HttpRequest post;
  private final ProviderHttp http;

  public OpenAiProvider(ActorSystem<?> system, String name, TenantConfig.ProviderSettings settings, Optional<String> apiKey) {
    this.name = name;
    this.post = ProviderHttp.post(settings.baseUrl(), "/chat/completions");
    this.http = new ProviderHttp(system, authorized(post, apiKey.orElse(null)), Duration.ofMillis(settings.timeoutMs()));
  }

  private OpenAiProvider(String name, HttpRequest post, ProviderHttp http) {
    this.name = name;
    this.post = post;
    this.http = http;
  }

  private static HttpRequest authorized(HttpRequest post, String key) {
    return key == null ? post : post.addHeader(Authorization.oauth2(key));
  }

  /** This provider with the caller's key for one call: the parsed request line is shared, the key is this call's. */
  @Override
  public ModelProvider withCallerKey(ProviderKey key) {
    return new OpenAiProvider(name, post, http.withCallerKey(authorized(post, key.secret()), key));
  }

  @Override
  public String label() {
    return "openai:" + name;
  }

  /**
   * The request body, written once: the model, the messages (with the passages' system
   * message), the pass-through options, and for streams {@code stream_options.include_usage}.
   */
  static byte[] body(ChatRequest request, boolean stream) {
    var bytes = new java.io.ByteArrayOutputStream(1024);
    try (JsonGenerator out = Json.MAPPER.getFactory().createGenerator(bytes)) {
      out.writeStartObject();
      out.writeStringField("model", request.model());
      out.writeArrayFieldStart("messages");
      for (ChatMessage message : request.promptMessages()) {
        OpenAiMessages.write(out, message);
      }
      out.writeEndArray();
      if (request.options() != null) {
        for (var it = request.options().fields(); it.hasNext(); ) {
          var option = it.next();
          if (!option.getKey().equals("model") && !option.getKey().equals("messages")
              && !option.getKey().equals("stream") && !option.getKey().equals("stream_options")) {
            out.writeFieldName(option.getKey());
            out.writeTree(option.getValue());
          }
        }
      }
      out.writeBooleanField("stream", stream);
      if (stream) {
        out.writeObjectFieldStart("stream_options");
        out.writeBooleanField("include_usage", true);
        out.writeEndObject();
      }
      out.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return bytes.toByteArray();
  }

  @Override
  public Source<ChatEvent, NotUsed> stream(ChatRequest request) {
    // Cold: the request is sent when the source is materialised, once per materialisation.
    return http.stream(() -> body(request, true),
        () -> org.apache.pekko.stream.javadsl.Flow.fromGraph(new OpenAiEvents(http.maxEventSize(), ProviderHttp.DRAIN_GRACE)));
  }

  @Override
  public CompletionStage<ChatResult> complete(ChatRequest request) {
    return http.complete(() -> body(request, false), OpenAiProvider::result);
  }

  private static ChatResult result(JsonNode body) {
    JsonNode choice = body.path("choices").path(0);
    ChatMessage message = choice.path("message").isObject() ? OpenAiMessages.read(choice.path("message"))
        : ChatMessage.assistant("");
    JsonNode usage = body.path("usage");
    return new ChatResult(message, choice.path("finish_reason").asText("stop"),
        usage.isObject() ? new ChatEvent.Usage(usage.path("prompt_tokens").asInt(), usage.path("completion_tokens").asInt(),
            usage.path("prompt_tokens_details").path("cached_tokens").asInt(0)) : null);
  }
}
