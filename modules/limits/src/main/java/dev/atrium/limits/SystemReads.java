package dev.atrium.limits;

import com.zaxxer.hikari.HikariDataSource;
import dev.atrium.core.db.Database;
import dev.atrium.core.db.DatabaseSettings;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;

/**
 * The limits module's reads as the system role, on one pooled connection closed with the
 * actor system: a budget's usage derived across the tenant's {@code usage_events}, and the
 * admin's list of live buckets from {@code durable_state}, which the service role may not
 * read (every tenant's entities in rows without a tenant_id; V18).
 */
record SystemReads(HikariDataSource pool, Executor executor) {
  static SystemReads start(ActorSystem<?> system) {
    HikariDataSource pool = Database.systemPool(DatabaseSettings.fromConfig(system.settings().config()),
        "atrium-limits", 1);
    system.getWhenTerminated().thenRun(pool::close);
    return new SystemReads(pool,
        system.dispatchers().lookup(DispatcherSelector.fromConfig("atrium.database.dispatcher")));
  }
}
