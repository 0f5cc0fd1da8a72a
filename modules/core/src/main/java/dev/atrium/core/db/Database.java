package dev.atrium.core.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import javax.sql.DataSource;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

/**
 * The service role's connection pool and the one way routes query tables: jOOQ in a
 * transaction that first sets {@code atrium.tenant_id}, on a dispatcher of its own so
 * blocking JDBC never runs on the request threads.
 *
 * <p>Two fences keep tenants apart: every query filters with {@link #tenantIs}, and
 * row-level security (the service role is subject to it) hides any row of another tenant
 * that a forgotten filter would have let through.
 */
public final class Database implements AutoCloseable {
  static {
    // jOOQ prints a banner and tips on first use; our logs are structured JSON.
    System.setProperty("org.jooq.no-logo", "true");
    System.setProperty("org.jooq.no-tips", "true");
  }

  private static final Settings JOOQ_SETTINGS = new Settings().withExecuteLogging(false);

  private final HikariDataSource service;
  private final Executor executor;

  private Database(HikariDataSource service, Executor executor) {
    this.service = service;
    this.executor = executor;
  }

  /** Opens the service role's pool; JDBC work runs on {@code atrium.database.dispatcher}. */
  public static Database open(ActorSystem<?> system, DatabaseSettings settings) {
    Executor executor = system.dispatchers().lookup(DispatcherSelector.fromConfig("atrium.database.dispatcher"));
    return new Database(
        pool("atrium-service", settings.url(), settings.serviceUser(), settings.servicePassword(), settings.servicePoolSize()),
        executor);
  }

  /** A pool for the system role (projections, system jobs): it bypasses row-level security. */
  public static HikariDataSource systemPool(DatabaseSettings settings, String name, int size) {
    return pool(name, settings.url(), settings.systemUser(), settings.systemPassword(), size);
  }

  static HikariDataSource pool(String name, String url, String user, String password, int size) {
    HikariConfig config = new HikariConfig();
    config.setPoolName(name);
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(Math.min(2, size));
    config.setConnectionTimeout(5_000);
    config.addDataSourceProperty("reWriteBatchedInserts", "true");
    config.addDataSourceProperty("ApplicationName", "atrium");
    return new HikariDataSource(config);
  }

  public static DSLContext dsl(java.sql.Connection connection) {
    return DSL.using(connection, SQLDialect.POSTGRES, JOOQ_SETTINGS);
  }

  /** The condition every tenant-scoped query carries (row-level security is the second fence). */
  public static Condition tenantIs(Field<String> tenantColumn, String tenantId) {
    return tenantColumn.eq(tenantId);
  }

  /**
   * Runs {@code work} in one transaction as the service role, with {@code atrium.tenant_id}
   * set for that transaction only.
   */
  public <T> CompletionStage<T> inTenant(String tenantId, Function<DSLContext, T> work) {
    return CompletableFuture.supplyAsync(
        () -> DSL.using(service, SQLDialect.POSTGRES, JOOQ_SETTINGS).transactionResult(tx -> {
          DSLContext dsl = tx.dsl();
          dsl.fetch("select set_config('atrium.tenant_id', ?, true)", tenantId);
          return work.apply(dsl);
        }),
        executor);
  }

  /** A round trip to the database, for readiness checks. */
  public CompletionStage<Boolean> ping() {
    return CompletableFuture.supplyAsync(
        () -> DSL.using(service, SQLDialect.POSTGRES, JOOQ_SETTINGS).fetchValue("select 1") != null,
        executor);
  }

  public DataSource serviceDataSource() {
    return service;
  }

  @Override
  public void close() {
    service.close();
  }
}
