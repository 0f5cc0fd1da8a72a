package dev.atrium.core.db;

import java.util.Map;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Runs the one schema of every module ({@code src/main/sql}, packaged as
 * {@code db/migration}) as the owner role. Running it again applies nothing new.
 */
public final class Migrations {
  private Migrations() {}

  public static MigrateResult migrate(DatabaseSettings db) {
    return configure(db).load().migrate();
  }

  /** Up to {@code version} only (tests that load data written by an older schema, then migrate on). */
  public static MigrateResult migrateTo(DatabaseSettings db, String version) {
    return configure(db).target(version).load().migrate();
  }

  private static FluentConfiguration configure(DatabaseSettings db) {
    return Flyway.configure()
            .dataSource(db.url(), db.ownerUser(), db.ownerPassword())
            .locations("classpath:db/migration")
            .placeholders(
                Map.of(
                    "service_role", db.serviceUser(),
                    "system_role", db.systemUser(),
                    "database", db.databaseName()))
            // Two nodes starting together: one migrates, the other waits on Flyway's lock.
            .lockRetryCount(120);
  }
}
