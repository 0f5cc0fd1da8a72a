package dev.atrium.limits;

import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.limits.RateLimiter;
import dev.atrium.core.tenant.TenantRegistry;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.server.Route;

/** The limits module: the TokenBucket entity, the edge's rate limiter, and the admin routes. */
public final class LimitsModule {
  private final RateLimiter limiter;
  private final LimitsAdminRoutes admin;

  private LimitsModule(ActorSystem<?> system, TenantRegistry tenants) {
    this.limiter = new TokenBuckets(system, tenants);
    this.admin = new LimitsAdminRoutes(system, tenants, DatabaseExtension.get(system).database());
  }

  public static LimitsModule start(ActorSystem<?> system, TenantRegistry tenants) {
    TokenBucket.init(system);
    return new LimitsModule(system, tenants);
  }

  public RateLimiter limiter() {
    return limiter;
  }

  /** Routes under {@code /admin} on the admin port. */
  public Route adminRoutes() {
    return admin.route();
  }
}
