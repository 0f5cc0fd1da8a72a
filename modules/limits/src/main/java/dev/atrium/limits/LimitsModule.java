package dev.atrium.limits;

import dev.atrium.core.limits.Budgets;
import dev.atrium.core.limits.RateLimiter;
import dev.atrium.core.tenant.TenantRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The limits module: the TokenBucket entity and the edge's rate limiter, the Budget entity
 * and the gateway's budgets, and their admin routes.
 */
public final class LimitsModule {
  private final RateLimiter limiter;
  private final BudgetService budgets;
  private final LimitsAdminRoutes admin;
  private final BudgetAdminRoutes budgetAdmin;

  private LimitsModule(ActorSystem<?> system, TenantRegistry tenants, SystemReads reads) {
    this.limiter = new TokenBuckets(system, tenants);
    this.budgets = new BudgetService(system, tenants);
    this.admin = new LimitsAdminRoutes(system, tenants, reads);
    this.budgetAdmin = new BudgetAdminRoutes(system, tenants, budgets);
  }

  /** @param registry where the budgets' gauges go */
  public static LimitsModule start(ActorSystem<?> system, TenantRegistry tenants, MeterRegistry registry) {
    TokenBucket.init(system);
    SystemReads reads = SystemReads.start(system);
    BudgetUsage usage = BudgetUsage.start(reads);
    Budget.init(system, usage::derive, new BudgetGauges(registry));
    return new LimitsModule(system, tenants, reads);
  }

  public RateLimiter limiter() {
    return limiter;
  }

  public Budgets budgets() {
    return budgets;
  }

  /** Routes under {@code /admin} on the admin port. */
  public Route adminRoutes() {
    return Directives.concat(admin.route(), budgetAdmin.route());
  }
}
