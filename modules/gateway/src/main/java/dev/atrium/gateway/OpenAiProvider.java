package dev.atrium.gateway;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Futures;
import dev.atrium.core.Json;
import dev.atrium.core.tenant.TenantConfig;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaRanges;
import org.apache.pekko.http.javadsl.model.headers.Accept;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.http.javadsl.unmarshalling.sse.EventStreamUnmarshalling;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Any OpenAI-compatible chat completions server (OpenAI, vLLM, Ollama, llama.cpp, another
 * gateway) over the Pekko HTTP client. Requests are built fresh, so no client header
 * (hop-by-hop or otherwise) ever reaches the upstream; the key comes from the environment
 * variable the tenant file names and is never logged. Streams are parsed event by event
 * and always ask for usage.
 */
public final class OpenAiProvider implements ModelProvider {
  private static final Logger log = LoggerFactory.getLogger(OpenAiProvider.class);
  private static final int MAX_ERROR_BODY = 64 * 1024;

  private final ActorSystem<?> system;
  private final String name;
  private final String completionsUrl;
  private final Optional<String> apiKey;
  private final Duration timeout;
  private final Unmarshaller<org.apache.pekko.http.javadsl.model.HttpEntity, Source<ServerSentEvent, NotUsed>> events;

  public OpenAiProvider(ActorSystem<?> system, String name, TenantConfig.ProviderSettings settings, Optional<String> apiKey) {
    this.system = system;
    this.name = name;
    String base = settings.baseUrl().endsWith("/") ? settings.baseUrl().substring(0, settings.baseUrl().length() - 1)
        : settings.baseUrl();
    this.completionsUrl = base + "/chat/completions";
    this.apiKey = apiKey;
    this.timeout = Duration.ofMillis(settings.timeoutMs());
    this.events = EventStreamUnmarshalling.fromEventsStream(Adapter.toClassic(system));
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

  private HttpRequest httpRequest(ChatRequest request, boolean stream) {
    byte[] bytes = body(request, stream);
    HttpRequest http = HttpRequest.POST(completionsUrl)
        .withEntity(ContentTypes.APPLICATION_JSON, bytes)
        .addHeader(Accept.create(stream ? MediaRanges.create(org.apache.pekko.http.javadsl.model.MediaTypes.TEXT_EVENT_STREAM)
            : MediaRanges.create(org.apache.pekko.http.javadsl.model.MediaTypes.APPLICATION_JSON)));
    return apiKey.map(k -> http.addHeader(Authorization.oauth2(k))).orElse(http);
  }

  private CompletionStage<HttpResponse> send(HttpRequest request) {
    return Http.get(system).singleRequest(request)
        .toCompletableFuture()
        .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        .exceptionally(e -> {
          throw asProviderException(e);
        });
  }

  @Override
  public Source<ChatEvent, NotUsed> stream(ChatRequest request) {
    // Per materialisation: a stream that ends without OpenAI's [DONE] was cut short.
    return Source.lazySource(() -> {
      java.util.concurrent.atomic.AtomicBoolean sawDone = new java.util.concurrent.atomic.AtomicBoolean();
      return Source.lazyCompletionStageSource(() -> send(httpRequest(request, true)).thenCompose(response -> {
            if (!response.status().isSuccess()) {
              return failure(response).thenApply(Source::<ServerSentEvent>failed);
            }
            return events.unmarshal(response.entity(), system);
          }))
          .idleTimeout(timeout)
          .takeWhile(event -> {
            boolean done = "[DONE]".equals(event.getData().strip());
            if (done) {
              sawDone.set(true);
            }
            return !done;
          })
          .mapConcat(event -> parseChunk(event.getData()))
          .concatLazy(Source.lazySource(() -> sawDone.get()
              ? Source.<ChatEvent>empty()
              : Source.<ChatEvent>failed(new ProviderException(502, "upstream_truncated",
                  "the model server ended the stream early", true))))
          .mapError(new org.apache.pekko.japi.pf.PFBuilder<Throwable, Throwable>()
              .match(Throwable.class, OpenAiProvider::asProviderException).build());
    }).mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** The ChatEvents in one upstream chunk ({@code chat.completion.chunk} or an error object). */
  static List<ChatEvent> parseChunk(String data) {
    JsonNode chunk;
    try {
      chunk = Json.MAPPER.readTree(data);
    } catch (IOException e) {
      throw new ProviderException(502, "upstream_malformed", "the model server sent a chunk that is not JSON", true, e);
    }
    if (chunk.has("error")) {
      JsonNode error = chunk.path("error");
      throw new ProviderException(502, "upstream_error", "the model server failed mid-stream: "
          + truncate(error.path("message").asText("unknown error")), true);
    }
    List<ChatEvent> out = new ArrayList<>(2);
    JsonNode choice = chunk.path("choices").path(0);
    if (choice.isObject()) {
      JsonNode delta = choice.path("delta");
      if (delta.isObject() && (delta.size() > 0)) {
        String content = delta.path("content").isTextual() ? delta.path("content").asText() : "";
        out.add(new ChatEvent.Delta(content, (ObjectNode) delta));
      }
      if (choice.path("finish_reason").isTextual()) {
        out.add(new ChatEvent.Finish(choice.path("finish_reason").asText()));
      }
    }
    JsonNode usage = chunk.path("usage");
    if (usage.isObject()) {
      out.add(new ChatEvent.Usage(usage.path("prompt_tokens").asInt(), usage.path("completion_tokens").asInt()));
    }
    return out;
  }

  @Override
  public CompletionStage<ChatResult> complete(ChatRequest request) {
    return send(httpRequest(request, false)).thenCompose(response -> {
      if (!response.status().isSuccess()) {
        return failure(response).thenApply(e -> {
          throw e;
        });
      }
      return response.entity().toStrict(timeout.toMillis(), system).thenApply(strict -> {
        JsonNode body;
        try {
          body = Json.MAPPER.readTree(strict.getData().toArray());
        } catch (IOException e) {
          throw new ProviderException(502, "upstream_malformed", "the model server answered with malformed JSON", true, e);
        }
        JsonNode choice = body.path("choices").path(0);
        ChatMessage message = choice.path("message").isObject() ? OpenAiMessages.read(choice.path("message"))
            : ChatMessage.assistant("");
        JsonNode usage = body.path("usage");
        return new ChatResult(message, choice.path("finish_reason").asText("stop"),
            usage.isObject() ? new ChatEvent.Usage(usage.path("prompt_tokens").asInt(), usage.path("completion_tokens").asInt())
                : null);
      });
    }).exceptionally(e -> {
      throw asProviderException(e);
    });
  }

  /** An upstream error response as a ProviderException; the body's message never includes our key. */
  private CompletionStage<ProviderException> failure(HttpResponse response) {
    int status = response.status().intValue();
    return response.entity().withoutSizeLimit().toStrict(timeout.toMillis(), system)
        .thenApply(strict -> {
          String message = "";
          try {
            message = Json.MAPPER.readTree(strict.getData().take(MAX_ERROR_BODY).toArray())
                .path("error").path("message").asText("");
          } catch (IOException e) {
            // not JSON: the status says enough
          }
          if (status == 401 || status == 403) {
            // Upstream messages about keys may quote part of the key.
            message = "the model server refused the gateway's credentials";
          }
          return new ProviderException(status, "upstream_error",
              "the model server answered " + status + (message.isEmpty() ? "" : ": " + truncate(message)),
              ProviderException.isRetryableStatus(status));
        })
        .exceptionally(e -> new ProviderException(status, "upstream_error", "the model server answered " + status,
            ProviderException.isRetryableStatus(status)));
  }

  static ProviderException asProviderException(Throwable e) {
    Throwable cause = Futures.unwrap(e);
    if (cause instanceof ProviderException p) {
      return p;
    }
    // Operators see why: the exception's class and message (addresses, never bodies or keys).
    log.warn("upstream call failed: {}: {}", cause.getClass().getName(), cause.getMessage());
    if (cause instanceof TimeoutException || cause instanceof java.util.concurrent.TimeoutException
        || cause.getClass().getSimpleName().contains("Timeout")) {
      return new ProviderException(504, "upstream_timeout", "the model server did not answer in time", true, cause);
    }
    return new ProviderException(502, "upstream_unreachable",
        "the model server could not be reached or dropped the connection", true, cause);
  }

  private static String truncate(String s) {
    return s.length() > 300 ? s.substring(0, 300) + "..." : s;
  }
}
