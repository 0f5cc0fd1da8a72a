package dev.atrium.server;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The admin port: {@code /metrics} for Prometheus, and {@code /admin/...} behind the admin
 * token. Feature modules add their own admin routes here as they arrive.
 */
final class AdminRoutes {
  private final AdminAuth auth;
  private final TenantRegistry tenants;
  private final Metrics metrics;
  private final List<Route> moduleRoutes;

  AdminRoutes(AdminAuth auth, TenantRegistry tenants, Metrics metrics, List<Route> moduleRoutes) {
    this.auth = auth;
    this.tenants = tenants;
    this.metrics = metrics;
    this.moduleRoutes = List.copyOf(moduleRoutes);
  }

  Route route() {
    return concat(
        path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(HttpEntities.create(
            ContentTypes.create(MediaTypes.TEXT_PLAIN, HttpCharsets.UTF_8), metrics.scrape()))))),
        pathPrefix("admin", () -> auth.require(() -> concat(tenantRoutes(), moduleRoutes.toArray(Route[]::new)))));
  }

  private Route tenantRoutes() {
    return pathPrefix("tenants", () -> concat(
        pathEndOrSingleSlash(() -> get(() -> JsonRoutes.json(Map.of("tenants",
            tenants.all().stream().map(AdminRoutes::describe).toList())))),
        path(PathMatchers.segment(), id -> get(() -> JsonRoutes.json(describe(
            tenants.byId(id).orElseThrow(() -> ApiError.notFound("No tenant '" + id + "'."))))))));
  }

  /** A tenant as admins see it: key ids and labels, never key hashes. */
  private static Map<String, Object> describe(TenantConfig t) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("id", t.id());
    view.put("display_name", t.displayName());
    view.put("hosts", t.hosts());
    view.put("api_keys", t.apiKeys().stream().map(k -> {
      Map<String, Object> key = new LinkedHashMap<>();
      key.put("id", k.id());
      key.put("label", k.label());
      key.put("tier", k.tier());
      k.accountId().ifPresent(a -> key.put("account", a));
      key.put("development", k.development());
      return key;
    }).toList());
    view.put("models", t.models());
    view.put("rate_limits", t.rateLimits());
    view.put("anonymous_route_classes", t.anonymousRouteClasses().stream().map(rc -> rc.wireName()).sorted().toList());
    view.put("cors", t.cors());
    view.put("features", t.features());
    view.put("limits", t.limits());
    return view;
  }
}
