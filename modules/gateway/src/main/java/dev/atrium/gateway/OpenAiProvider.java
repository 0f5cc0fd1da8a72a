package dev.atrium.gateway;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Futures;
import dev.atrium.core.Json;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.byok.ProviderKey;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.impl.engine.client.OutgoingConnectionBlueprint;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaRanges;
import org.apache.pekko.http.javadsl.model.headers.Accept;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.stream.StreamTcpException;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Any OpenAI-compatible chat completions server (OpenAI, vLLM, Ollama, llama.cpp, another
 * gateway) over the Pekko HTTP client. Requests are built fresh, so no client header
 * (hop-by-hop or otherwise) ever reaches the upstream; the key comes from the environment
 * variable the tenant file names and is never logged. Streams always ask for usage and are
 * read by {@link OpenAiEvents}, in the stream that asked for them.
 *
 * <p>A request that got no response at all because its pooled connection went away under it
 * (the pool's "Connection was cancelled", an upstream closing a kept-alive connection as the
 * request arrived, or no connection at all) is sent once more at once, whatever the
 * provider's {@code max_retries}: it is the transport's failure, not the upstream's answer, and
 * nothing of it has reached the caller. (A connection reset after the request was written
 * looks the same: the upstream may then do the work twice, the caller never gets two
 * answers.) Anything that got a response is never repeated here.
 */
public final class OpenAiProvider implements ModelProvider {
  private static final Logger log = LoggerFactory.getLogger(OpenAiProvider.class);
  private static final int MAX_ERROR_BODY = 64 * 1024;
  /** How long a body is still read after its {@code [DONE]}, so its connection goes back to the pool. */
  private static final Duration DRAIN_GRACE = Duration.ofSeconds(2);

  private final ActorSystem<?> system;
  private final String name;
  /** The request line and headers of every call, parsed once: a URI parsed per request cost ~2 % of the node's CPU. */
  private final HttpRequest streamTemplate;
  private final HttpRequest wholeTemplate;
  private final Duration timeout;
  private final int maxEventSize;
  /** The request line without credentials, parsed once and shared with the caller-key instances. */
  private final HttpRequest post;
  /** The caller's key this instance calls with (one call's instance), or null: the tenant's own. */
  private final ProviderKey callerKey;

  public OpenAiProvider(ActorSystem<?> system, String name, TenantConfig.ProviderSettings settings, Optional<String> apiKey) {
    this(system, name, post(settings), apiKey, Duration.ofMillis(settings.timeoutMs()),
        // The limit the configuration sets for upstream model streams (http.conf).
        (int) Math.min(Integer.MAX_VALUE, system.settings().config().getBytes("pekko.http.sse.max-event-size")), null);
  }

  private OpenAiProvider(ActorSystem<?> system, String name, HttpRequest post, Optional<String> apiKey, Duration timeout,
      int maxEventSize, ProviderKey callerKey) {
    this.system = system;
    this.name = name;
    this.post = post;
    HttpRequest authorized = apiKey.map(key -> post.addHeader(Authorization.oauth2(key))).orElse(post);
    this.streamTemplate = authorized.addHeader(Accept.create(
        MediaRanges.create(org.apache.pekko.http.javadsl.model.MediaTypes.TEXT_EVENT_STREAM)));
    this.wholeTemplate = authorized.addHeader(Accept.create(
        MediaRanges.create(org.apache.pekko.http.javadsl.model.MediaTypes.APPLICATION_JSON)));
    this.timeout = timeout;
    this.maxEventSize = maxEventSize;
    this.callerKey = callerKey;
  }

  private static HttpRequest post(TenantConfig.ProviderSettings settings) {
    String base = settings.baseUrl().endsWith("/") ? settings.baseUrl().substring(0, settings.baseUrl().length() - 1)
        : settings.baseUrl();
    return HttpRequest.POST(base + "/chat/completions");
  }

  /** This provider with the caller's key for one call: the parsed request line is shared, the key is this call's. */
  @Override
  public ModelProvider withCallerKey(ProviderKey key) {
    return new OpenAiProvider(system, name, post, Optional.of(key.secret()), timeout, maxEventSize, key);
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
    return (stream ? streamTemplate : wholeTemplate).withEntity(ContentTypes.APPLICATION_JSON, body(request, stream));
  }

  private CompletionStage<HttpResponse> send(HttpRequest request) {
    return attempt(request, true)
        .toCompletableFuture()
        .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        .exceptionally(e -> {
          throw asProviderException(e);
        });
  }

  private CompletionStage<HttpResponse> attempt(HttpRequest request, boolean again) {
    return Http.get(system).singleRequest(request).handle((response, error) -> {
      if (error == null) {
        return CompletableFuture.completedFuture(response);
      }
      if (again && neverAnswered(error)) {
        log.info("upstream connection failed before any response, sending once more: {}: {}",
            Futures.unwrap(error).getClass().getSimpleName(), Futures.unwrap(error).getMessage());
        return attempt(request, false);
      }
      return CompletableFuture.<HttpResponse>failedFuture(error);
    }).thenCompose(Function.identity());
  }

  /**
   * A failure of the connection before any byte of a response: the pool's connection went
   * away under the request (a connection failure is a {@link StreamTcpException} in Pekko),
   * or the upstream closed the connection with the request outstanding, as a server closing
   * idle kept-alive connections does. Timeouts are not among them: the upstream may be working.
   */
  static boolean neverAnswered(Throwable error) {
    Throwable cause = Futures.unwrap(error);
    return cause instanceof StreamTcpException
        || cause instanceof OutgoingConnectionBlueprint.UnexpectedConnectionClosureException;
  }

  @Override
  public Source<ChatEvent, NotUsed> stream(ChatRequest request) {
    // Cold: the request is sent when the source is materialised, once per materialisation.
    return Source.lazyCompletionStage(() -> send(httpRequest(request, true)))
        .flatMapConcat(this::events)
        .idleTimeout(timeout)
        .mapError(new org.apache.pekko.japi.pf.PFBuilder<Throwable, Throwable>()
            .match(Throwable.class, OpenAiProvider::asProviderException).build())
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** The events of a streamed answer's body, read in the stream that consumes them; or the upstream's error. */
  private Source<ChatEvent, NotUsed> events(HttpResponse response) {
    if (!response.status().isSuccess()) {
      return Source.completionStage(failure(response)).map(e -> {
        throw e;
      });
    }
    return response.entity().withoutSizeLimit().getDataBytes()
        .via(new OpenAiEvents(maxEventSize, DRAIN_GRACE))
        .mapMaterializedValue(m -> NotUsed.getInstance());
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
            usage.isObject() ? new ChatEvent.Usage(usage.path("prompt_tokens").asInt(), usage.path("completion_tokens").asInt(),
                usage.path("prompt_tokens_details").path("cached_tokens").asInt(0)) : null);
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
          if ((status == 401 || status == 403) && callerKey != null) {
            // Upstream messages about keys may quote part of the key: never passed on.
            return new ProviderException(status, "provider_key_rejected",
                "the provider refused the key in " + callerKey.header() + " (" + status + ")", false);
          }
          if (status == 401 || status == 403) {
            message = "the model server refused the gateway's credentials";
          }
          return new ProviderException(status, "upstream_error",
              "the model server answered " + status + (message.isEmpty() ? "" : ": " + truncate(message)),
              retryable(status));
        })
        .exceptionally(e -> new ProviderException(status, "upstream_error", "the model server answered " + status,
            retryable(status)));
  }

  /**
   * Whether another attempt may get past {@code status}: on the tenant's key, timeouts,
   * 429 and 5xx; on the caller's key only 5xx (its 429 is the caller's quota, not ours to
   * spend the tenant's key on).
   */
  private boolean retryable(int status) {
    return callerKey == null ? ProviderException.isRetryableStatus(status) : status >= 500;
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
