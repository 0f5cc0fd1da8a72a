package dev.atrium.core.auth;

import dev.atrium.core.net.OutboundFetch;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where a tenant's {@code jwks_url} is fetched from: the outbound-URL guard in production
 * ({@link #guarded}), anything else in a test. A fetch never
 * blocks the caller's thread: it answers with a stage.
 */
public interface JwksSource {
  /** A JWK set of a handful of keys is a few KiB; anything far larger is not one. */
  int MAX_BYTES = 512 * 1024;

  /** The JWK set document at {@code url}; fails when it cannot be fetched or does not answer 200. */
  CompletionStage<String> fetch(URI url);

  /**
   * Through the outbound-URL guard's operator policy: a JWKS URL is operator-configured, so
   * it is fetched as configured (a JWKS on localhost works) unless the server config narrows
   * that policy; each redirect hop is checked before it is connected; the body is capped.
   */
  static JwksSource guarded(OutboundFetch fetch) {
    return url -> fetch.fetchOperatorUrl(url, Map.of("Accept", "application/json"), MAX_BYTES)
        .thenCompose(response -> response.status() == 200
            ? CompletableFuture.completedFuture(new String(response.body(), StandardCharsets.UTF_8))
            : CompletableFuture.failedFuture(new IOException("the JWKS URL answered " + response.status())));
  }
}
