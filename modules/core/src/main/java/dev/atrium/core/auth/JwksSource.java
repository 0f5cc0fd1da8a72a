package dev.atrium.core.auth;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where a tenant's {@code jwks_url} is fetched from: one small interface so the server can
 * put its outbound-URL guard (or a test double) in front of the network. A fetch never
 * blocks the caller's thread: it answers with a stage.
 */
public interface JwksSource {
  /** The JWK set document at {@code url}; fails when it cannot be fetched or does not answer 200. */
  CompletionStage<String> fetch(URI url);

  /** Over HTTP(S) with {@link HttpClient#sendAsync}: no redirects followed, bounded in time and size. */
  static JwksSource http(Duration timeout) {
    return new Http(timeout);
  }

  /** The plain HTTP fetcher; operator-configured URLs are fetched as configured. */
  final class Http implements JwksSource {
    /** A JWK set of a handful of keys is a few KiB; anything far larger is not one. */
    static final int MAX_BYTES = 512 * 1024;

    private final Duration timeout;
    private volatile HttpClient client;

    Http(Duration timeout) {
      this.timeout = timeout;
    }

    /** Built on the first fetch: a node without JWKS URLs never starts an HTTP client's threads. */
    private HttpClient client() {
      HttpClient c = client;
      if (c == null) {
        synchronized (this) {
          if (client == null) {
            client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).connectTimeout(timeout).build();
          }
          c = client;
        }
      }
      return c;
    }

    @Override
    public CompletionStage<String> fetch(URI url) {
      HttpClient client = client();
      HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).header("Accept", "application/json").GET()
          .build();
      return client.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).thenCompose(response -> {
        if (response.statusCode() != 200) {
          return CompletableFuture.failedFuture(new IOException("the JWKS URL answered " + response.statusCode()));
        }
        if (response.body().length > MAX_BYTES) {
          return CompletableFuture.failedFuture(new IOException("the JWKS document is larger than " + MAX_BYTES
              + " bytes"));
        }
        return CompletableFuture.completedFuture(new String(response.body(), StandardCharsets.UTF_8));
      });
    }
  }
}
