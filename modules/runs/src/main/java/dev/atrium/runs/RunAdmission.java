package dev.atrium.runs;

import com.typesafe.config.Config;
import dev.atrium.core.Backoff;
import dev.atrium.core.limits.RateLimiter;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.ToIntFunction;

/**
 * Which runs may run: a run starts once it holds one of its tenant's {@code runs.max_running}
 * slots, a leased slot keyed by the run id in the tenant's {@code runs/running} pool of the
 * {@link RateLimiter} (the limits module's sharded bucket, so the cap holds across the
 * cluster). The run renews the lease while it runs and releases the slot when it ends; the
 * slot of a run whose node died frees itself when the lease runs out, unless the run,
 * resumed elsewhere, holds it again first.
 */
public final class RunAdmission {
  static final String POOL = "runs/running";

  private final RateLimiter limiter;
  private final ToIntFunction<String> maxRunning;
  private final Duration lease;
  private final Duration renewInterval;
  private final Duration retryInterval;

  RunAdmission(RateLimiter limiter, ToIntFunction<String> maxRunning, Duration lease, Duration renewInterval,
      Duration retryInterval) {
    if (renewInterval.compareTo(lease) >= 0) {
      throw new IllegalArgumentException("the slot renew interval must be shorter than the slot lease");
    }
    this.limiter = limiter;
    this.maxRunning = maxRunning;
    this.lease = lease;
    this.renewInterval = renewInterval;
    this.retryInterval = retryInterval;
  }

  /**
   * From {@code atrium.runs.admission}. A tenant no longer in the registry (its file removed)
   * gets no slot: its queued runs wait until the supervisor fails them at their deadline.
   */
  static RunAdmission of(Config admission, RateLimiter limiter, TenantRegistry tenants) {
    return new RunAdmission(limiter, tenantId -> tenants.byId(tenantId).map(t -> t.runs().maxRunning()).orElse(0),
        admission.getDuration("slot-lease"), admission.getDuration("slot-renew-interval"),
        admission.getDuration("retry-interval"));
  }

  /** Every run starts at once (entity tests that are not about admission). */
  static RunAdmission unlimited() {
    return new RunAdmission(RateLimiter.UNLIMITED, tenantId -> Integer.MAX_VALUE, Duration.ofSeconds(30),
        Duration.ofSeconds(10), Duration.ofSeconds(1));
  }

  /** True when granted; a failed stage when the limiter did not answer in time. */
  CompletionStage<Boolean> acquire(String tenantId, String runId) {
    return limiter.acquireSlot(tenantId, POOL, runId, maxRunning.applyAsInt(tenantId), lease);
  }

  /** Renews the lease, or takes the slot back (past the cap) if the limiter lost it. */
  void hold(String tenantId, String runId) {
    limiter.renewSlot(tenantId, POOL, runId, lease);
  }

  void release(String tenantId, String runId) {
    limiter.releaseSlot(tenantId, POOL, runId);
  }

  Duration renewInterval() {
    return renewInterval;
  }

  /**
   * When a queued run asks again: the retry interval ± 25 %, so the queued runs of a tenant
   * do not all ask in the same instant.
   */
  Duration retryDelay() {
    return Backoff.around(retryInterval, 0.25);
  }
}
