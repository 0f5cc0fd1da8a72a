package dev.atrium.server;

import com.typesafe.config.Config;
import dev.atrium.core.secrets.Secrets;
import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.db.Migrations;
import dev.atrium.core.http.Edge;
import dev.atrium.core.auth.JwksSource;
import dev.atrium.core.auth.JwtAuthenticator;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.jobs.JobRoutes;
import dev.atrium.core.jobs.JobScheduler;
import dev.atrium.core.jobs.Jobs;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.core.limits.Budgets;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.cache.ResponseCache;
import dev.atrium.gateway.usage.BatchedUsageRecorder;
import dev.atrium.gateway.usage.PriceTable;
import dev.atrium.gateway.usage.UsageRecorder;
import dev.atrium.gateway.usage.UsageViews;
import dev.atrium.limits.LimitsModule;
import dev.atrium.rag.RagModule;
import dev.atrium.runs.RunStarter;
import dev.atrium.runs.RunTypes;
import dev.atrium.runs.RunsModule;
import dev.atrium.gateway.ModelRoutes;
import dev.atrium.sessions.SessionsModule;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires a node: migrations → cluster membership → entities and projections → HTTP. {@link Main}
 * calls it for a real server, tests call it on their own actor system.
 */
public final class AtriumServer {
  private static final Logger LOG = LoggerFactory.getLogger(AtriumServer.class);

  /**
   * What a node needs besides its configuration; {@code clock} is the scheduled jobs' and the
   * usage views' "today" (tests move it by hand).
   */
  public record Settings(TenantRegistry tenants, String adminToken, Metrics metrics, Clock clock) {
    public Settings(TenantRegistry tenants, String adminToken, Metrics metrics) {
      this(tenants, adminToken, metrics, Clock.systemUTC());
    }
  }

  /** A running node: where it listens. */
  public record Running(InetSocketAddress publicAddress, InetSocketAddress adminAddress, Uri management) {}

  private AtriumServer() {}

  public static CompletionStage<Running> start(ActorSystem<?> system, Settings settings) {
    Config config = system.settings().config();

    DatabaseSettings db = DatabaseSettings.fromConfig(config);
    var migrated = Migrations.migrate(db);
    LOG.info("database schema at version {} ({} migrations applied now)",
        migrated.targetSchemaVersion == null ? "current" : migrated.targetSchemaVersion, migrated.migrationsExecuted);
    DatabaseExtension.get(system);

    joinCluster(system, config);
    PekkoMetrics.bind(system, settings.metrics().registry());
    ServerMode mode = ServerMode.fromConfig(config);
    mode.tagLogs();
    settings.metrics().nodeInfo(mode.code(), config.getString("pekko.cluster.app-version"));

    LimitsModule limits = LimitsModule.start(system, settings.tenants(), settings.metrics().registry());
    // JWKS URLs are operator-configured: fetched through the outbound-URL guard's operator policy.
    var outbound = dev.atrium.core.net.OutboundFetch.fromConfig(system.settings().config(),
        system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()));
    // One cache of secrets (provider and embedder keys, JWT secrets) for the node; its AWS
    // client, if one was made, is closed when the node stops.
    Secrets secrets = Secrets.fromConfig(config.getConfig("atrium.secrets"), name -> Optional.ofNullable(System.getenv(name)),
        system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()));
    org.apache.pekko.actor.CoordinatedShutdown.get(system).addTask(
        org.apache.pekko.actor.CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-secrets", () -> {
          secrets.close();
          return java.util.concurrent.CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance());
        });
    JwtAuthenticator jwt = JwtAuthenticator.start(settings.tenants(), JwksSource.guarded(outbound), settings.clock(),
        secrets);
    TenantDirectives tenants = new TenantDirectives(settings.tenants(), limits.limiter(), jwt);
    // Every model call's usage: a bounded queue in front of batched inserts (usage_events).
    PriceTable prices = PriceTable.fromConfig(config);
    UsageRecorder usage = config.getBoolean("atrium.usage.enabled")
        ? BatchedUsageRecorder.start(system, prices, settings.metrics().registry(),
            settings.tenants().all().stream().map(TenantConfig::id).toList())
        : UsageRecorder.NONE;
    if (usage == UsageRecorder.NONE) {
      system.log().warn("usage metering is off (atrium.usage.enabled = false): no model call is metered");
    }
    Budgets budgets = config.getBoolean("atrium.budgets.enabled") ? limits.budgets() : Budgets.NONE;
    if (budgets == Budgets.NONE) {
      system.log().warn("budgets are off (atrium.budgets.enabled = false): no call is held to a cap");
    }
    // Modules register their run types before the runs module starts with them, and start
    // runs through a RunStarter that needs only sharding, when it is called; they register
    // their scheduled jobs the same way, before the scheduler starts.
    RunTypes runTypes = new RunTypes();
    Jobs jobs = new Jobs();
    ModelGateway gateway = new ModelGateway(system, settings.tenants(), secrets, usage, budgets, prices, ResponseCache.start(system, settings.tenants(), jobs), settings.metrics().registry());
    RunStarter runStarter = RunStarter.of(system, tenants.registry());
    RagModule rag = RagModule.start(system, tenants, gateway, runTypes, runStarter, jobs);
    UsageViews usageViews = UsageViews.start(system, tenants, jobs, settings.clock());
    RunsModule runs = RunsModule.start(system, tenants, gateway, limits.limiter(), runTypes);
    SessionsModule sessions = SessionsModule.start(system, tenants, gateway, rag.retriever());
    JobScheduler scheduler = JobScheduler.start(system, jobs, settings.clock());
    // A reload checks a set as the start did: the registry's checks, then the gateway's.
    TenantReload tenantReload = TenantReload.start(system, settings.tenants(), gateway::problems);

    PublicRoutes publicRoutes = new PublicRoutes(tenants);
    Route publicRoute = new Edge(settings.metrics(), "public").wrap(tenants.preflight(PublicRoutes.concatAll(List.of(
        new HealthRoutes(system, mode).route(),
        publicRoutes.whoAmI(),
        new ModelRoutes(tenants).route(),
        sessions.publicRoutes(),
        runs.publicRoutes(),
        rag.publicRoutes(),
        usageViews.publicRoutes()))));
    Route adminRoute = new Edge(settings.metrics(), "admin").wrap(
        new AdminRoutes(new AdminAuth(settings.adminToken()), settings.tenants(), tenantReload, settings.metrics(),
            List.of(sessions.adminRoutes(), limits.adminRoutes(), runs.adminRoutes(), usageViews.adminRoutes(),
                new JobRoutes(scheduler).route())).route());

    Config http = config.getConfig("atrium.http");
    Duration unbindDeadline = Duration.ofSeconds(10);
    CompletionStage<ServerBinding> publicBinding = Http.get(system)
        .newServerAt(http.getString("interface"), http.getInt("port"))
        .bind(publicRoute)
        .thenApply(b -> b.addToCoordinatedShutdown(unbindDeadline, system));
    CompletionStage<ServerBinding> adminBinding = Http.get(system)
        .newServerAt(http.getString("admin-interface"), http.getInt("admin-port"))
        .bind(adminRoute)
        .thenApply(b -> b.addToCoordinatedShutdown(unbindDeadline, system));
    CompletionStage<Uri> management = PekkoManagement.get(system).start();

    return publicBinding.thenCompose(p -> adminBinding.thenCompose(a -> management.thenApply(m ->
        new Running(p.localAddress(), a.localAddress(), m))));
  }

  private static void joinCluster(ActorSystem<?> system, Config config) {
    String join = config.getString("atrium.cluster.join");
    switch (join) {
      case "self" -> {
        Cluster cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
      }
      case "kubernetes" -> ClusterBootstrap.get(system).start();
      // Pekko joins the configured pekko.cluster.seed-nodes by itself.
      case "seed-nodes" -> { }
      default -> throw new IllegalArgumentException(
          "atrium.cluster.join must be 'self', 'seed-nodes' or 'kubernetes', not '" + join + "'");
    }
  }
}
