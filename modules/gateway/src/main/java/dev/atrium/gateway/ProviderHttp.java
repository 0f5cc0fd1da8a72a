package dev.atrium.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Futures;
import dev.atrium.core.Json;
import dev.atrium.gateway.byok.ProviderKey;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.impl.engine.client.OutgoingConnectionBlueprint;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaRanges;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.Accept;
import org.apache.pekko.stream.StreamTcpException;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the gateway's HTTP providers ({@link OpenAiProvider}, the Anthropic provider) share
 * of a call on the Pekko HTTP client: the request line and headers parsed once, the sending
 * with its one resend, the timeouts, an error response read into a {@link ProviderException},
 * and the failures of the transport as one. Requests are built fresh from the templates, so
 * no client header (hop-by-hop or otherwise) ever reaches the upstream; the credential
 * headers the provider put on the template are never logged.
 *
 * <p>A request that got no response at all because its pooled connection went away under it
 * (the pool's "Connection was cancelled", an upstream closing a kept-alive connection as the
 * request arrived, or no connection at all) is sent once more at once, whatever the
 * provider's {@code max_retries}: it is the transport's failure, not the upstream's answer, and
 * nothing of it has reached the caller. (A connection reset after the request was written
 * looks the same: the upstream may then do the work twice, the caller never gets two
 * answers.) Anything that got a response is never repeated here.
 */
public final class ProviderHttp {
  private static final Logger log = LoggerFactory.getLogger(ProviderHttp.class);
  private static final int MAX_ERROR_BODY = 64 * 1024;
  /** How long a body is still read after its last event, so its connection goes back to the pool. */
  public static final Duration DRAIN_GRACE = Duration.ofSeconds(2);

  private final ActorSystem<?> system;
  private final HttpRequest streamTemplate;
  private final HttpRequest wholeTemplate;
  private final Duration timeout;
  private final int maxEventSize;
  private final ProviderKey callerKey;

  /**
   * @param authorized the request line with every header of the provider's calls (its
   *     credentials among them: the tenant's)
   */
  public ProviderHttp(ActorSystem<?> system, HttpRequest authorized, Duration timeout) {
    // The limit the configuration sets for upstream model streams (http.conf).
    this(system, authorized, timeout, (int) Math.min(Integer.MAX_VALUE,
        system.settings().config().getBytes("pekko.http.sse.max-event-size")), null);
  }

  private ProviderHttp(ActorSystem<?> system, HttpRequest authorized, Duration timeout, int maxEventSize,
      ProviderKey callerKey) {
    this.system = system;
    this.streamTemplate = authorized.addHeader(Accept.create(MediaRanges.create(MediaTypes.TEXT_EVENT_STREAM)));
    this.wholeTemplate = authorized.addHeader(Accept.create(MediaRanges.create(MediaTypes.APPLICATION_JSON)));
    this.timeout = timeout;
    this.maxEventSize = maxEventSize;
    this.callerKey = callerKey;
  }

  /**
   * The same calls with the caller's key for one call: {@code authorized} carries it in
   * place of the tenant's credentials; a refusal of it is the caller's.
   */
  public ProviderHttp withCallerKey(HttpRequest authorized, ProviderKey key) {
    return new ProviderHttp(system, authorized, timeout, maxEventSize, key);
  }

  /** {@code base} without its trailing slashes, then {@code path}. */
  public static HttpRequest post(String base, String path) {
    String trimmed = base;
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    return HttpRequest.POST(trimmed + path);
  }

  public Duration timeout() {
    return timeout;
  }

  /** The largest SSE event an upstream stream may send. */
  public int maxEventSize() {
    return maxEventSize;
  }

  /**
   * A streamed call: {@code body} is written and the request sent when the source is
   * materialised (once per materialisation), the response's bytes go through the stage
   * {@code events} makes (one per response), a failure of any kind is a
   * {@link ProviderException}, and no byte for {@link #timeout} fails it too.
   */
  public Source<ChatEvent, NotUsed> stream(Supplier<byte[]> body,
      Supplier<? extends Flow<ByteString, ChatEvent, ?>> events) {
    return Source.lazyCompletionStage(() -> send(streamTemplate, body))
        .flatMapConcat(response -> events(response, events))
        .idleTimeout(timeout)
        .mapError(new org.apache.pekko.japi.pf.PFBuilder<Throwable, Throwable>()
            .match(Throwable.class, ProviderHttp::asProviderException).build())
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  private Source<ChatEvent, NotUsed> events(HttpResponse response,
      Supplier<? extends Flow<ByteString, ChatEvent, ?>> events) {
    if (!response.status().isSuccess()) {
      return Source.completionStage(failure(response)).map(e -> {
        throw e;
      });
    }
    return response.entity().withoutSizeLimit().getDataBytes().via(events.get())
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /**
   * A whole call: {@code body} written and sent, the answer's JSON read by {@code result}; a
   * body that cannot be written, an error response, malformed
   * JSON or a failure of the transport is a {@link ProviderException}.
   */
  public <T> CompletionStage<T> complete(Supplier<byte[]> body, Function<JsonNode, T> result) {
    return send(wholeTemplate, body).thenCompose(response -> {
      if (!response.status().isSuccess()) {
        return failure(response).thenApply(e -> {
          throw e;
        });
      }
      return response.entity().toStrict(timeout.toMillis(), system).thenApply(strict -> {
        JsonNode json;
        try {
          json = Json.MAPPER.readTree(strict.getData().toArray());
        } catch (IOException e) {
          throw new ProviderException(502, "upstream_malformed", "the model server answered with malformed JSON", true, e);
        }
        return result.apply(json);
      });
    }).exceptionally(e -> {
      throw asProviderException(e);
    });
  }

  /**
   * {@code template} with the body written now, sent; a body that cannot be written (a
   * parameter the provider has no place for) fails the call, never its caller or its stage.
   */
  private CompletionStage<HttpResponse> send(HttpRequest template, Supplier<byte[]> body) {
    HttpRequest request;
    try {
      request = template.withEntity(ContentTypes.APPLICATION_JSON, body.get());
    } catch (ProviderException e) {
      return CompletableFuture.failedFuture(e);
    }
    return send(request);
  }

  private CompletionStage<HttpResponse> send(HttpRequest request) {
    return attempt(request, true)
        .toCompletableFuture()
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
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

  /**
   * An upstream error response as a ProviderException, from its status and the
   * {@code error.message} of its body (OpenAI's and Anthropic's error bodies both have one);
   * the message never includes our key.
   */
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
   * 429 and 5xx (Anthropic's 529 "overloaded" among them); on the caller's key only 5xx (its
   * 429 is the caller's quota, not ours to spend the tenant's key on).
   */
  private boolean retryable(int status) {
    return callerKey == null ? ProviderException.isRetryableStatus(status) : status >= 500;
  }

  /** Any failure of a call as a ProviderException: itself when it is one, else a timeout or an unreachable upstream. */
  public static ProviderException asProviderException(Throwable e) {
    Throwable cause = Futures.unwrap(e);
    if (cause instanceof ProviderException p) {
      return p;
    }
    // Operators see why: the exception's class and message (addresses, never bodies or keys).
    log.warn("upstream call failed: {}: {}", cause.getClass().getName(), cause.getMessage());
    if (cause instanceof TimeoutException || cause.getClass().getSimpleName().contains("Timeout")) {
      return new ProviderException(504, "upstream_timeout", "the model server did not answer in time", true, cause);
    }
    return new ProviderException(502, "upstream_unreachable",
        "the model server could not be reached or dropped the connection", true, cause);
  }

  /** At most 300 characters of an upstream's message. */
  public static String truncate(String s) {
    return s.length() > 300 ? s.substring(0, 300) + "..." : s;
  }
}
