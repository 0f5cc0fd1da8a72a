package dev.atrium.server;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantConfigException;
import dev.atrium.core.tenant.TenantRegistry;
import org.apache.pekko.http.javadsl.model.StatusCodes;
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
  private final TenantReload reload;
  private final Metrics metrics;
  private final List<Route> moduleRoutes;

  AdminRoutes(AdminAuth auth, TenantRegistry tenants, TenantReload reload, Metrics metrics, List<Route> moduleRoutes) {
    this.auth = auth;
    this.tenants = tenants;
    this.reload = reload;
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
        pathEndOrSingleSlash(() -> get(this::listTenants)),
        path("reload", () -> post(this::reloadTenants)),
        path(PathMatchers.segment(), id -> get(() -> JsonRoutes.json(describe(TenantReload.hashes(tenants.snapshot()),
            tenants.byId(id).orElseThrow(() -> ApiError.notFound("No tenant '" + id + "'."))))))));
  }

  /**
   * This node's tenants (with their content hashes) and the version of their set, and every
   * member's version and hashes as the replicated view has them, so drift shows.
   */
  private Route listTenants() {
    TenantRegistry.Snapshot now = tenants.snapshot();
    return onSuccess(reload.describeNodes(), nodes -> {
      Map<String, Object> view = new LinkedHashMap<>();
      view.put("node", reload.node());
      view.put("version", now.version());
      view.put("set_hash", now.setHash());
      Map<String, TenantSet.TenantHashes> hashes = TenantReload.hashes(now);
      view.put("tenants", now.all().stream().map(t -> describe(hashes, t)).toList());
      view.put("nodes", nodes);
      return JsonRoutes.json(view);
    });
  }

  /** Reads and checks this node's files and publishes them: 422 with every problem when they are not valid (nothing changes). */
  private Route reloadTenants() {
    return onComplete(reload.reload(), result -> {
      if (result.isFailure()) {
        Throwable error = result.failed().get();
        while (error instanceof java.util.concurrent.CompletionException && error.getCause() != null) {
          error = error.getCause();
        }
        if (error instanceof TenantConfigException invalid) {
          throw new ApiError(StatusCodes.UNPROCESSABLE_ENTITY, "invalid_tenant_config",
              "The tenant files are not valid; nothing was changed. " + invalid.problems().size() + " problem(s): "
                  + String.join("; ", invalid.problems()))
              .withExtension("errors", invalid.problems());
        }
        throw ApiError.unavailable("The tenant set could not be published: " + error.getMessage());
      }
      return JsonRoutes.json(TenantReload.describe(result.get()));
    });
  }

  /**
   * A tenant as admins see it: key ids and labels, never key hashes; the SHA-256 of its file
   * and of its keys' hashes (which reveal no key), to compare between nodes.
   */
  private static Map<String, Object> describe(Map<String, TenantSet.TenantHashes> hashes, TenantConfig t) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("id", t.id());
    TenantSet.TenantHashes own = hashes.get(t.id());
    if (own != null) {
      view.put("content_hash", own.sha256());
      view.put("api_keys_hash", own.apiKeysSha256());
    }
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
