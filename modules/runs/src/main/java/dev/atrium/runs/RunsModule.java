package dev.atrium.runs;

import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import com.typesafe.config.Config;
import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.limits.RateLimiter;
import dev.atrium.gateway.ModelGateway;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The runs module: the Run entity, its projection and supervisor, the run-type registry
 * (with {@code batch}; other modules register theirs), and the run routes.
 */
public final class RunsModule {
  final TenantDirectives tenants;
  final RunTypes types;
  final RunQueries queries;
  final ClusterSharding sharding;
  final Duration askTimeout;
  final Duration heartbeat;
  final Duration pollInterval = Duration.ofMillis(250);

  private RunsModule(ActorSystem<?> system, TenantDirectives tenants, RunTypes types) {
    this.tenants = tenants;
    this.types = types;
    this.queries = new RunQueries(DatabaseExtension.get(system).database());
    this.sharding = ClusterSharding.get(system);
    Config config = system.settings().config();
    this.askTimeout = config.getDuration("atrium.http.ask-timeout");
    this.heartbeat = config.getDuration("atrium.sessions.heartbeat-interval");
  }

  /**
   * Registers {@code batch} and {@code extraTypes}, starts the entity, projection and
   * supervisor. Runs take their running slots from {@code limiter} (the limits module's).
   */
  public static RunsModule start(ActorSystem<?> system, TenantDirectives tenants, ModelGateway gateway,
      RateLimiter limiter, List<RunType> extraTypes) {
    RunTypes types = new RunTypes().register(new BatchRunType(system, gateway));
    extraTypes.forEach(types::register);
    Config admission = system.settings().config().getConfig("atrium.runs.admission");
    Run.init(system, types, RunAdmission.of(admission, limiter, tenants.registry()));
    RunProjection.init(system);
    RunSupervisor.init(system);
    return new RunsModule(system, tenants, types);
  }

  EntityRef<Run.Command> run(String runId) {
    return sharding.entityRefFor(Run.ENTITY_KEY, runId);
  }

  /** Starts a run on behalf of another module's route (for example an upload's ingest run). */
  public java.util.concurrent.CompletionStage<RunView> start(String tenantId, String ownerKeyId, String type,
      com.fasterxml.jackson.databind.JsonNode input) {
    String runId = java.util.UUID.randomUUID().toString();
    int concurrency = tenants.registry().byId(tenantId).orElseThrow().runs().maxConcurrency();
    return RunRoutes.mapped(run(runId).<RunView>askWithStatus(
        r -> new Run.Create(tenantId, ownerKeyId, type, input, concurrency, r), askTimeout));
  }

  public Route publicRoutes() {
    return new RunRoutes(this).route();
  }

  /** {@code /admin/tenants/{t}/runs?status=&limit=&cursor=} on the admin port. */
  public Route adminRoutes() {
    return pathPrefix(PathMatchers.segment("tenants").slash(PathMatchers.segment()).slash("runs"), tenantId -> {
      if (tenants.registry().byId(tenantId).isEmpty()) {
        throw ApiError.notFound("No tenant '" + tenantId + "'.");
      }
      return pathEndOrSingleSlash(() -> get(() -> parameterOptional("status", status ->
          parameterOptional("limit", limit -> parameterOptional("cursor", cursor ->
              onSuccess(queries.list(tenantId, Optional.empty(), status, RunRoutes.limit(limit, 50, 500), cursor),
                  page -> JsonRoutes.json(RunRoutes.page(page))))))));
    });
  }
}
