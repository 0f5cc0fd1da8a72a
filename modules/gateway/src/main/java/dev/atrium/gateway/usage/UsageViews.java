package dev.atrium.gateway.usage;

import com.zaxxer.hikari.HikariDataSource;
import dev.atrium.core.db.Database;
import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.jobs.Jobs;
import java.time.Clock;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Usage views and export: the {@code usage-daily} roll-up job (registered in the node's
 * {@link Jobs}), {@code GET /v1/usage}, and the admin routes {@code /admin/tenants/{t}/usage}
 * and {@code /admin/usage/export}. "Today" and "a complete day" are by {@code clock}, the
 * scheduler's, so the views and the job agree on which days are rolled up.
 */
public final class UsageViews {
  private final UsageRoutes routes;

  private UsageViews(UsageRoutes routes) {
    this.routes = routes;
  }

  /** Registers the roll-up job in {@code jobs} (before the scheduler starts). */
  public static UsageViews start(ActorSystem<?> system, TenantDirectives tenants, Jobs jobs, Clock clock) {
    jobs.register(new UsageDailyJob(ProjectionDatabase.get(system), clock));
    Database database = DatabaseExtension.get(system).database();
    // Two connections: a second export need not wait for the first to finish.
    HikariDataSource exportPool = Database.systemPool(DatabaseSettings.fromConfig(system.settings().config()),
        "atrium-usage-export", 2);
    system.getWhenTerminated().thenRun(exportPool::close);
    return new UsageViews(new UsageRoutes(tenants, new UsageQueries(database),
        new UsageExport(exportPool, "atrium.database.dispatcher"), clock));
  }

  public Route publicRoutes() {
    return routes.publicRoute();
  }

  /** Under {@code /admin} on the admin port. */
  public Route adminRoutes() {
    return routes.adminRoute();
  }
}
