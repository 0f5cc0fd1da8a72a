package dev.atrium.core.limits;

import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What the edge asks before any handler work: may this principal spend {@code tokens} on a
 * route of this class, and may it open one more stream? And what other modules ask for a
 * leased slot in one of a tenant's named pools (runs: {@code runs/running}). The
 * {@code limits} module answers with cluster-sharded token buckets; tests of other modules
 * run {@link #UNLIMITED}.
 */
public interface RateLimiter {

  /**
   * The decision for one request. A failed stage (the limiter could not answer in time)
   * is handled by the tenant's {@code on_limiter_unavailable}.
   */
  CompletionStage<Decision> check(Principal principal, RouteClass routeClass, int tokens);

  /** A slot for one open stream of this principal, capped per client key and per tenant. */
  CompletionStage<StreamSlot> openStream(Principal principal, RouteClass routeClass);

  /**
   * One slot in the tenant's pool {@code pool} (a name such as {@code runs/running}), which
   * holds at most {@code cap} slots across the cluster, leased for {@code lease}. Asking
   * again for a slot id the pool holds is granted and renews the lease, so a holder whose
   * answer was lost (a timeout, a restart) asks again with the same id. A failed stage: the
   * limiter did not answer in time (the slot may have been granted; asking again with the
   * same id is safe).
   */
  CompletionStage<Boolean> acquireSlot(String tenantId, String pool, String slotId, int cap, Duration lease);

  /**
   * Extends a held slot's lease; sent while the holder works, well within the lease. A slot
   * the pool no longer holds (its lease ran out, or the limiter lost its last second in a
   * crash) is taken back even past the cap: its holder is still working and must be
   * counted. Fire and forget.
   */
  void renewSlot(String tenantId, String pool, String slotId, Duration lease);

  /** Frees a slot. Fire and forget: a release that is lost costs at most one lease. */
  void releaseSlot(String tenantId, String pool, String slotId);

  /** Every request allowed, every stream and slot granted: for tests and tools that run without limits. */
  RateLimiter UNLIMITED = new RateLimiter() {
    @Override
    public CompletionStage<Decision> check(Principal principal, RouteClass routeClass, int tokens) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<StreamSlot> openStream(Principal principal, RouteClass routeClass) {
      return CompletableFuture.completedFuture(StreamSlot.UNLIMITED);
    }

    @Override
    public CompletionStage<Boolean> acquireSlot(String tenantId, String pool, String slotId, int cap, Duration lease) {
      return CompletableFuture.completedFuture(true);
    }

    @Override
    public void renewSlot(String tenantId, String pool, String slotId, Duration lease) {}

    @Override
    public void releaseSlot(String tenantId, String pool, String slotId) {}
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
