package dev.atrium.core.db;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.projection.jdbc.JdbcSession;

/**
 * The system role's pool for projections (exactly-once: the offset commits in the same
 * transaction as the handler's writes). Its size equals the projection dispatcher's
 * ({@code atrium.projections.pool-size}), so a handler never waits for a connection.
 */
public final class ProjectionDatabase implements Extension {
  private static final ExtensionId<ProjectionDatabase> ID = new ExtensionId<>() {
    @Override
    public ProjectionDatabase createExtension(ActorSystem<?> system) {
      return new ProjectionDatabase(system);
    }
  };

  private final HikariDataSource pool;
  private final java.util.concurrent.Executor executor;

  private ProjectionDatabase(ActorSystem<?> system) {
    this.executor = system.dispatchers().lookup(
        org.apache.pekko.actor.typed.DispatcherSelector.fromConfig("atrium.database.dispatcher"));
    DatabaseSettings settings = DatabaseSettings.fromConfig(system.settings().config());
    this.pool = Database.systemPool(settings, "atrium-projections",
        system.settings().config().getInt("atrium.projections.pool-size"));
    system.getWhenTerminated().thenRun(pool::close);
    // The projections' polls are the statements whose plans depend on those statistics.
    JournalStatistics.start(system, this);
  }

  public static ProjectionDatabase get(ActorSystem<?> system) {
    return system.registerExtension(ID);
  }

  /**
   * A query as the system role, across tenants, for system jobs (supervisors, sweepers):
   * never for a request's work, which goes through {@link Database#inTenant}.
   */
  public <T> java.util.concurrent.CompletionStage<T> systemQuery(java.util.function.Function<org.jooq.DSLContext, T> work) {
    return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try (Connection connection = pool.getConnection()) {
        connection.setAutoCommit(true);
        return work.apply(Database.dsl(connection));
      } catch (SQLException e) {
        throw new IllegalStateException("system query failed", e);
      }
    }, executor);
  }

  /** A new session: one pooled connection with auto-commit off, returned on close. */
  public Session session() {
    try {
      return new Session(pool.getConnection());
    } catch (SQLException e) {
      throw new IllegalStateException("no projection connection", e);
    }
  }

  /** pekko-projection-jdbc's session over a pooled connection. */
  public static final class Session implements JdbcSession {
    private final Connection connection;

    Session(Connection connection) throws SQLException {
      this.connection = connection;
      connection.setAutoCommit(false);
    }

    @Override
    public <Result> Result withConnection(Function<Connection, Result> func) throws Exception {
      return func.apply(connection);
    }

    @Override
    public void commit() throws SQLException {
      connection.commit();
    }

    @Override
    public void rollback() throws SQLException {
      connection.rollback();
    }

    @Override
    public void close() throws SQLException {
      connection.close();
    }
  }
}
