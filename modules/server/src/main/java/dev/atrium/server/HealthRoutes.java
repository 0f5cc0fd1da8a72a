package dev.atrium.server;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.atrium.core.http.JsonRoutes;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.HealthCheckSettings;
import org.apache.pekko.management.javadsl.HealthChecks;

/**
 * {@code /health} (alive) and {@code /ready} on the public port: the same checks that
 * pekko-management serves as {@code /alive} and {@code /ready} on the management port
 * (cluster membership Up, database reachable). The body says which mode the node runs
 * ({@code {"status": "ok", "mode": "prod"}}), so a probe or a person sees a node in the
 * wrong mode at once.
 */
final class HealthRoutes {
  private final HealthChecks checks;
  private final ServerMode mode;

  HealthRoutes(ActorSystem<?> system, ServerMode mode) {
    this.mode = mode;
    var settings = HealthCheckSettings.create(system.settings().config().getConfig("pekko.management.health-checks"));
    this.checks = new HealthChecks((org.apache.pekko.actor.ExtendedActorSystem) Adapter.toClassic(system), settings);
  }

  Route route() {
    return get(() -> concat(
        path("health", () -> onSuccess(ready(), this::answer)),
        path("ready", () -> onSuccess(ready(), this::answer)),
        path("alive", () -> onSuccess(checks.alive().exceptionally(e -> false), this::answer))));
  }

  /** A check that fails or times out (the database still connecting) means "not ready", never a 500. */
  private java.util.concurrent.CompletionStage<Boolean> ready() {
    return checks.ready().exceptionally(e -> false);
  }

  private Route answer(boolean ok) {
    return ok
        ? JsonRoutes.json(Map.of("status", "ok", "mode", mode.code()))
        : JsonRoutes.json(StatusCodes.SERVICE_UNAVAILABLE, Map.of("status", "unavailable", "mode", mode.code()));
  }
}
