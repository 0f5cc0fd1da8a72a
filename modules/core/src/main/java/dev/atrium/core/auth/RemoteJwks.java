package dev.atrium.core.auth;

import com.nimbusds.jose.jwk.JWKSet;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A JWKS URL (of one tenant, or of the tenants sharing an issuer), fetched and cached. Requests read the cached set synchronously; a
 * fetch happens at start, in the background once the set is older than the cache time, and
 * when a token names a key the set lacks (a rotation). Fetches are at least
 * {@code minInterval} apart and shared by concurrent callers, so a flood of tokens with
 * made-up {@code kid}s costs the issuer one fetch per interval, not one per token.
 */
final class RemoteJwks {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteJwks.class);

  private record Snapshot(JWKSet keys, Instant fetchedAt) {}

  /** What logs name it by: scheme, host, port and path of its URL. */
  private final String name;
  private final URI url;
  private final JwksSource source;
  private final Clock clock;
  private final Duration minInterval;
  private final Duration maxAge;
  private volatile Snapshot snapshot;
  private Instant lastAttempt; // guarded by this
  private CompletableFuture<Optional<JWKSet>> inflight; // guarded by this

  RemoteJwks(URI url, JwksSource source, Clock clock, Duration minInterval, Duration maxAge) {
    // No user info or query in logs: a URL may carry a token there.
    this.name = url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort())
        + (url.getRawPath() == null ? "" : url.getRawPath());
    this.url = url;
    this.source = source;
    this.clock = clock;
    this.minInterval = minInterval;
    this.maxAge = maxAge;
  }

  /** The cached keys, if a fetch ever succeeded; a stale set starts a background refresh and is still used. */
  Optional<JWKSet> current() {
    Snapshot s = snapshot;
    if (s == null) {
      return Optional.empty();
    }
    if (clock.instant().isAfter(s.fetchedAt().plus(maxAge))) {
      refresh();
    }
    return Optional.of(s.keys());
  }

  /**
   * Fetches the set again unless a fetch is under way (its result) or the last one started
   * less than the minimum interval ago (the cached set, possibly none). Never fails: a failed
   * fetch keeps what was cached.
   */
  synchronized CompletionStage<Optional<JWKSet>> refresh() {
    if (inflight != null) {
      return inflight;
    }
    Instant now = clock.instant();
    if (lastAttempt != null && now.isBefore(lastAttempt.plus(minInterval))) {
      return CompletableFuture.completedFuture(Optional.ofNullable(snapshot).map(Snapshot::keys));
    }
    lastAttempt = now;
    CompletableFuture<Optional<JWKSet>> fetch = new CompletableFuture<>();
    inflight = fetch;
    CompletionStage<String> body;
    try {
      body = source.fetch(url);
    } catch (RuntimeException e) {
      body = CompletableFuture.failedFuture(e);
    }
    body.whenComplete((text, failure) -> {
      Optional<JWKSet> result;
      if (failure == null) {
        result = parse(text);
      } else {
        LOG.warn("JWKS {} could not be fetched: {}", name, rootMessage(failure));
        result = Optional.ofNullable(snapshot).map(Snapshot::keys);
      }
      synchronized (this) {
        inflight = null;
      }
      fetch.complete(result);
    });
    return fetch;
  }

  private Optional<JWKSet> parse(String text) {
    try {
      JWKSet keys = JWKSet.parse(text).toPublicJWKSet();
      snapshot = new Snapshot(keys, clock.instant());
      LOG.info("JWKS {} fetched ({} public keys)", name, keys.size());
      return Optional.of(keys);
    } catch (java.text.ParseException e) {
      LOG.warn("JWKS {} did not answer a JWK set", name);
      return Optional.ofNullable(snapshot).map(Snapshot::keys);
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable cause = t;
    while (cause.getCause() != null && cause != cause.getCause()) {
      cause = cause.getCause();
    }
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }
}
