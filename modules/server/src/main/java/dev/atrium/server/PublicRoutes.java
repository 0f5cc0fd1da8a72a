package dev.atrium.server;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.atrium.core.http.Accounts;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.PrincipalView;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** The public port's own routes (feature modules bring theirs). */
final class PublicRoutes {
  private final TenantDirectives tenants;

  PublicRoutes(TenantDirectives tenants) {
    this.tenants = tenants;
  }

  /**
   * {@code GET /v1/tenant}: who the caller is and what its tenant allows;
   * {@code GET /v1/auth/verify}: just the caller's principal (what a front end asks to check
   * a key or token); {@code GET /v1/account}: the account the caller acts for (403
   * {@code account_required} when its key or token names none).
   */
  Route whoAmI() {
    return concat(tenant(), verify(), account());
  }

  private Route verify() {
    return path(PathMatchers.segment("v1").slash("auth").slash("verify"), () -> get(() ->
        tenants.principal(RouteClass.DEFAULT, principal -> JsonRoutes.json(PrincipalView.of(principal)))));
  }

  /** An account exists once a key or a token names it: its id, tenant and budget caps (null: none). */
  private Route account() {
    return path(PathMatchers.segment("v1").slash("account"), () -> get(() ->
        tenants.principal(RouteClass.DEFAULT, principal -> {
          String accountId = Accounts.required(principal);
          TenantConfig tenant = tenants.registry().byId(principal.tenantId()).orElseThrow();
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("account_id", accountId);
          body.put("tenant_id", tenant.id());
          body.put("budget", tenant.budgets().forAccount(accountId).orElse(null));
          return JsonRoutes.json(body);
        })));
  }

  private Route tenant() {
    return path(PathMatchers.segment("v1").slash("tenant"), () -> get(() ->
        tenants.principal(RouteClass.DEFAULT, principal -> {
          TenantConfig tenant = tenants.registry().byId(principal.tenantId()).orElseThrow();
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("tenant_id", tenant.id());
          body.put("display_name", tenant.displayName());
          body.put("anonymous", principal.anonymous());
          principal.keyId().ifPresent(k -> body.put("key_id", k));
          body.put("tier", principal.tier());
          principal.accountId().ifPresent(a -> body.put("account_id", a));
          body.put("principal", PrincipalView.of(principal));
          body.put("default_model", tenant.models().defaultModel());
          body.put("models", tenant.models().models().keySet().stream().sorted().toList());
          body.put("features", tenant.features());
          body.put("limits", tenant.limits());
          return JsonRoutes.json(body);
        })));
  }

  static Route concatAll(List<Route> routes) {
    return concat(routes.get(0), routes.subList(1, routes.size()).toArray(Route[]::new));
  }
}
