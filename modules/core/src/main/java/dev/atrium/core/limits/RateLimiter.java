package dev.atrium.core.limits;

import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What the edge asks before any handler work: may this principal spend {@code tokens} on a
 * route of this class, and may it open one more stream? The {@code limits} module answers
 * with cluster-sharded token buckets; tests of other modules run {@link #UNLIMITED}.
 */
public interface RateLimiter {

  /**
   * The decision for one request. A failed stage (the limiter could not answer in time)
   * is handled by the tenant's {@code on_limiter_unavailable}.
   */
  CompletionStage<Decision> check(Principal principal, RouteClass routeClass, int tokens);

  /** A slot for one open stream of this principal, capped per client key and per tenant. */
  CompletionStage<StreamSlot> openStream(Principal principal, RouteClass routeClass);

  /** Every request allowed, every stream granted: for tests and tools that run without limits. */
  RateLimiter UNLIMITED = new RateLimiter() {
    @Override
    public CompletionStage<Decision> check(Principal principal, RouteClass routeClass, int tokens) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<StreamSlot> openStream(Principal principal, RouteClass routeClass) {
      return CompletableFuture.completedFuture(StreamSlot.UNLIMITED);
    }
  };

  /**
   * A bucket's answer.
   *
   * @param policy the policy name in the RateLimit headers (the route class)
   * @param quota the burst capacity
   * @param windowSeconds capacity / refill rate, rounded up: the time to refill from empty
   * @param remaining whole tokens left after this request
   * @param resetSeconds seconds until the bucket is full again
   * @param retryAfterSeconds when denied: seconds until enough tokens exist, rounded up
   */
  record Decision(boolean allowed, String policy, long quota, long windowSeconds, long remaining, long resetSeconds,
      long retryAfterSeconds) {}
}
