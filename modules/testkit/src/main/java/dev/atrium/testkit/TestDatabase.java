package dev.atrium.testkit;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.db.EmbeddedDatabase;
import dev.atrium.core.db.Migrations;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL 15 with pgvector for tests: started on first use, once per test JVM,
 * stopped when the JVM exits. Each test class (or test) asks for a fresh database of its
 * own, migrated with the same migrations the server runs, so tests never see each other's
 * rows.
 */
public final class TestDatabase {
  public static final String SERVICE_ROLE = "atrium_service";
  public static final String SYSTEM_ROLE = "atrium_system";

  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static EmbeddedDatabase server;

  private TestDatabase() {}

  public static synchronized EmbeddedDatabase server() {
    if (server == null) {
      // Tests need durability no more than speed: synchronous_commit off, as zonky's default.
      server = EmbeddedDatabase.start(new EmbeddedDatabase.Options(null, false, true, null));
    }
    return server;
  }

  /** A new, empty database with every migration applied. */
  public static DatabaseSettings fresh(String hint) {
    DatabaseSettings settings = create(hint);
    Migrations.migrate(settings);
    return settings;
  }

  /** A new database with nothing applied yet (for migration tests). */
  public static DatabaseSettings create(String hint) {
    String name = "t" + COUNTER.incrementAndGet() + "_"
        + hint.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
    if (name.length() > 60) {
      name = name.substring(0, 60);
    }
    server().createDatabaseIfMissing(name);
    return server().settings(name, SERVICE_ROLE, SYSTEM_ROLE, 4);
  }
}
