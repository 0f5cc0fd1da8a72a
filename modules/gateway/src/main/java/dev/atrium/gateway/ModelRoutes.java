package dev.atrium.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** OpenAI's {@code GET /v1/models} and {@code GET /v1/models/{id}}: the caller's tenant's models. */
public final class ModelRoutes {
  private final TenantDirectives tenants;

  public ModelRoutes(TenantDirectives tenants) {
    this.tenants = tenants;
  }

  public Route route() {
    return pathPrefix(PathMatchers.segment("v1").slash("models"), () -> get(() ->
        tenants.principal(RouteClass.COMPLETIONS, principal -> {
          TenantConfig tenant = tenants.registry().byId(principal.tenantId()).orElseThrow();
          return concat(
              pathEndOrSingleSlash(() -> JsonRoutes.json(Map.of("object", "list", "data",
                  tenant.models().requestable().stream().map(id -> model(tenant, id)).toList()))),
              pathPrefix(PathMatchers.segment(), id -> pathEndOrSingleSlash(() -> {
                if (!tenant.models().allows(id)) {
                  throw new ApiError(StatusCodes.NOT_FOUND, "model_not_found",
                      "The model `" + id + "` does not exist or you do not have access to it.");
                }
                return JsonRoutes.json(model(tenant, id));
              })));
        })));
  }

  private static Map<String, Object> model(TenantConfig tenant, String id) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "model");
    json.put("created", 0);
    json.put("owned_by", tenant.models().models().get(id).provider());
    return json;
  }
}
