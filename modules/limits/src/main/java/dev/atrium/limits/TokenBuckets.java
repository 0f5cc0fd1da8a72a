package dev.atrium.limits;

import dev.atrium.core.Futures;
import dev.atrium.core.limits.RateLimiter;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * The rate limiter of the edge: one {@link TokenBucket} per tenant, route class and
 * principal ({@code tenant:chat/key:k_12}, {@code tenant:default/ip:10.0.0.7}); tenants never
 * share a bucket. Stream slots live in the client's {@code streams/<principal>} bucket and
 * the tenant's {@code streams/tenant} bucket, each leased and renewed while the stream runs.
 * A named pool of slots (runs: {@code runs/running}) is the tenant's bucket of that name.
 */
public final class TokenBuckets implements RateLimiter {
  static final String TENANT_STREAMS = "streams/tenant";

  private final ClusterSharding sharding;
  private final TenantRegistry tenants;
  private final Duration askTimeout;
  private final Duration slotLease;

  public TokenBuckets(ActorSystem<?> system, TenantRegistry tenants) {
    this.sharding = ClusterSharding.get(system);
    this.tenants = tenants;
    this.askTimeout = system.settings().config().getDuration("atrium.limits.ask-timeout");
    this.slotLease = system.settings().config().getDuration("atrium.limits.slot-lease");
  }

  /** The client key of a principal's bucket for a route class. */
  public static String clientKey(RouteClass routeClass, Principal principal) {
    return routeClass.wireName() + "/" + principal.limitKey();
  }

  private EntityRef<TokenBucket.Command> bucket(String tenantId, String clientKey) {
    return sharding.entityRefFor(TokenBucket.ENTITY_KEY, TokenBucket.entityId(tenantId, clientKey));
  }

  @Override
  public CompletionStage<Decision> check(Principal principal, RouteClass routeClass, int tokens) {
    TenantConfig tenant = tenants.byId(principal.tenantId()).orElseThrow();
    TenantConfig.Bucket settings = tenant.bucketFor(routeClass, principal.tier());
    return bucket(tenant.id(), clientKey(routeClass, principal))
        .<TokenBucket.Verdict>ask(r -> new TokenBucket.Check(tenant.id(), tokens, settings.capacity(),
            settings.refillPerSecond(), r), askTimeout)
        .thenApply(v -> new Decision(v.allowed(), routeClass.wireName(), settings.capacity(), v.windowSeconds(),
            v.remaining(), v.resetSeconds(), v.retryAfterSeconds()));
  }

  @Override
  public CompletionStage<StreamSlot> openStream(Principal principal, RouteClass routeClass) {
    TenantConfig tenant = tenants.byId(principal.tenantId()).orElseThrow();
    String slotId = UUID.randomUUID().toString();
    var client = bucket(tenant.id(), "streams/" + principal.limitKey());
    var shared = bucket(tenant.id(), TENANT_STREAMS);
    int clientCap = tenant.streamSlots().perClient();
    int tenantCap = tenant.streamSlots().perTenant();
    return client.<TokenBucket.SlotVerdict>ask(r -> new TokenBucket.AcquireSlot(tenant.id(), slotId, clientCap, slotLease, r),
            askTimeout)
        .thenCompose(mine -> {
          if (!mine.granted()) {
            return CompletableFuture.completedFuture(StreamSlot.denied("client", clientCap));
          }
          return shared.<TokenBucket.SlotVerdict>ask(
                  r -> new TokenBucket.AcquireSlot(tenant.id(), slotId, tenantCap, slotLease, r), askTimeout)
              .handle((theirs, error) -> {
                if (error != null || !theirs.granted()) {
                  client.tell(new TokenBucket.ReleaseSlot(tenant.id(), slotId));
                  if (error != null) {
                    throw Futures.rethrow(error);
                  }
                  return StreamSlot.denied("tenant", tenantCap);
                }
                return new LeasedSlot(tenant.id(), slotId, client, shared);
              });
        });
  }

  @Override
  public CompletionStage<Boolean> acquireSlot(String tenantId, String pool, String slotId, int cap, Duration lease) {
    return bucket(tenantId, pool)
        .<TokenBucket.SlotVerdict>ask(r -> new TokenBucket.AcquireSlot(tenantId, slotId, cap, lease, r), askTimeout)
        .thenApply(TokenBucket.SlotVerdict::granted);
  }

  @Override
  public void renewSlot(String tenantId, String pool, String slotId, Duration lease) {
    bucket(tenantId, pool).tell(new TokenBucket.HoldSlot(tenantId, slotId, lease));
  }

  @Override
  public void releaseSlot(String tenantId, String pool, String slotId) {
    bucket(tenantId, pool).tell(new TokenBucket.ReleaseSlot(tenantId, slotId));
  }

  /** A granted slot in both buckets, renewed at a third of its lease. */
  private final class LeasedSlot implements StreamSlot {
    private final String tenantId;
    private final String slotId;
    private final EntityRef<TokenBucket.Command> client;
    private final EntityRef<TokenBucket.Command> shared;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile long lastRenewal = System.nanoTime();

    LeasedSlot(String tenantId, String slotId, EntityRef<TokenBucket.Command> client, EntityRef<TokenBucket.Command> shared) {
      this.tenantId = tenantId;
      this.slotId = slotId;
      this.client = client;
      this.shared = shared;
    }

    @Override
    public boolean granted() {
      return true;
    }

    @Override
    public String deniedBy() {
      return "";
    }

    @Override
    public long cap() {
      return 0;
    }

    @Override
    public void renewIfDue() {
      long now = System.nanoTime();
      if (!released.get() && now - lastRenewal >= slotLease.toNanos() / 3) {
        lastRenewal = now;
        client.tell(new TokenBucket.RenewSlot(tenantId, slotId, slotLease));
        shared.tell(new TokenBucket.RenewSlot(tenantId, slotId, slotLease));
      }
    }

    @Override
    public void release() {
      if (released.compareAndSet(false, true)) {
        client.tell(new TokenBucket.ReleaseSlot(tenantId, slotId));
        shared.tell(new TokenBucket.ReleaseSlot(tenantId, slotId));
      }
    }
  }
}
