package dev.atrium.runs;

import dev.atrium.core.http.PageLimit;
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
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The runs module: the Run entity, its projection and supervisor, {@code batch} and the run
 * types other modules registered in {@link RunTypes} before it started, and the run routes.
 * Other modules start runs through a {@link RunStarter}.
 */
public final class RunsModule {
  final TenantDirectives tenants;
  final RunTypes types;
  final RunQueries queries;
  final RunClient runs;
  final Duration heartbeat;
  final Duration pollInterval = Duration.ofMillis(250);

  private RunsModule(ActorSystem<?> system, TenantDirectives tenants, RunTypes types) {
    this.tenants = tenants;
    this.types = types;
    this.queries = new RunQueries(DatabaseExtension.get(system).database());
    this.runs = new RunClient(system, tenants.registry());
    this.heartbeat = system.settings().config().getDuration("atrium.runs.heartbeat-interval");
  }

  /**
   * Registers {@code batch} beside the {@code types} other modules registered (no more can be
   * registered after this), starts the entity, projection and supervisor. Runs take their
   * running slots from {@code limiter} (the limits module's).
   */
  public static RunsModule start(ActorSystem<?> system, TenantDirectives tenants, ModelGateway gateway,
      RateLimiter limiter, RunTypes types) {
    types.register(new BatchRunType(system, gateway, tenants.registry())).closeRegistration();
    Config admission = system.settings().config().getConfig("atrium.runs.admission");
    Run.init(system, types, RunAdmission.of(admission, limiter, tenants.registry()));
    RunProjection.init(system);
    RunSupervisor.init(system);
    return new RunsModule(system, tenants, types);
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
              onSuccess(queries.list(tenantId, Optional.empty(), status, PageLimit.parse(limit, 50, 500), cursor),
                  page -> JsonRoutes.json(RunRoutes.page(page))))))));
    });
  }
}
