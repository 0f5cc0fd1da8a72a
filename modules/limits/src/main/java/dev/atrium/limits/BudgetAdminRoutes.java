package dev.atrium.limits;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.Replies;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Admin views of budgets (admin port, behind the admin token):
 * {@code GET /admin/tenants/{t}/budgets} lists each scope with a cap or with use (the
 * tenant, accounts, keys) per period: caps, hard-limit ratio, settled, held, when the
 * period started and when it resets; {@code POST /admin/tenants/{t}/budgets/reset}
 * {@code {"scope": "key:k_1", "period": "day"}} starts a scope's period again with nothing
 * settled. {@code /admin/budgets/installation} and {@code .../reset} do the same for the
 * installation's caps.
 */
final class BudgetAdminRoutes {
  private static final Pattern SCOPE = Pattern.compile("tenant|(account|key):[A-Za-z0-9_-]{1,64}");

  private final ClusterSharding sharding;
  private final TenantRegistry tenants;
  private final BudgetService budgets;
  private final Duration askTimeout;

  BudgetAdminRoutes(ActorSystem<?> system, TenantRegistry tenants, BudgetService budgets) {
    this.sharding = ClusterSharding.get(system);
    this.tenants = tenants;
    this.budgets = budgets;
    this.askTimeout = system.settings().config().getDuration("atrium.http.ask-timeout");
  }

  Route route() {
    return concat(
        pathPrefix(PathMatchers.segment("tenants").slash(PathMatchers.segment()).slash("budgets"), tenantId -> {
          TenantConfig tenant = tenants.byId(tenantId).orElseThrow(() -> ApiError.notFound("No tenant '" + tenantId + "'."));
          return concat(
              pathEndOrSingleSlash(() -> get(() -> onSuccess(inspect(tenant.id()),
                  view -> JsonRoutes.json(tenantJson(tenant, view))))),
              path("reset", () -> post(() -> JsonRoutes.body(ObjectNode.class, body ->
                  reset(tenant.id(), body, SCOPE)))));
        }),
        pathPrefix(PathMatchers.segment("budgets").slash("installation"), () -> concat(
            pathEndOrSingleSlash(() -> get(() -> onSuccess(inspect(Budget.INSTALLATION),
                view -> JsonRoutes.json(installationJson(view))))),
            path("reset", () -> post(() -> JsonRoutes.body(ObjectNode.class, body ->
                reset(Budget.INSTALLATION, body, Pattern.compile(Budget.INSTALLATION_SCOPE))))))));
  }

  private Route reset(String budgetId, ObjectNode body, Pattern scopes) {
    String scope = body.path("scope").asText("");
    String period = body.path("period").asText("");
    if (!scopes.matcher(scope).matches()) {
      throw ApiError.badRequest("invalid_scope", "scope must match " + scopes.pattern())
          .withExtension("param", "scope");
    }
    if (!period.equals("day") && !period.equals("month")) {
      throw ApiError.badRequest("invalid_period", "period must be day or month").withExtension("param", "period");
    }
    return onSuccess(Replies.<Budget.Command, org.apache.pekko.Done>ask(sharding.entityRefFor(Budget.ENTITY_KEY, budgetId),
            r -> new Budget.Reset(budgetId, scope, period, r), askTimeout, "budget"),
        done -> complete(StatusCodes.NO_CONTENT));
  }

  private CompletionStage<Budget.View> inspect(String budgetId) {
    return Replies.ask(sharding.entityRefFor(Budget.ENTITY_KEY, budgetId), r -> new Budget.Inspect(budgetId, r),
        askTimeout, "budget");
  }

  private Map<String, Object> tenantJson(TenantConfig tenant, Budget.View view) {
    TenantConfig.BudgetSettings settings = tenant.budgets();
    Set<String> scopes = new LinkedHashSet<>();
    scopes.add(Budget.TENANT_SCOPE);
    tenant.apiKeys().forEach(k -> {
      k.accountId().ifPresent(a -> scopes.add("account:" + a));
      scopes.add("key:" + k.id());
    });
    settings.accounts().keySet().stream().sorted().forEach(a -> scopes.add("account:" + a));
    view.lines().forEach(l -> scopes.add(l.scope()));
    List<Map<String, Object>> out = new ArrayList<>();
    for (String scope : scopes) {
      Optional<BudgetBook.ScopeCaps> caps = capsOf(settings, scope);
      List<Budget.LineView> lines = view.lines().stream().filter(l -> l.scope().equals(scope)).toList();
      if (caps.isPresent() || !lines.isEmpty()) {
        out.addAll(scopeJson(scope, caps, lines));
      }
    }
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("tenant", tenant.id());
    json.put("hard_limit_ratio", settings.hardLimitRatio());
    json.put("default_max_tokens", settings.defaultMaxTokens());
    json.put("open_reservations", view.openReservations());
    json.put("last_write", view.lastWrite());
    json.put("scopes", out);
    return json;
  }

  private Map<String, Object> installationJson(Budget.View view) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("open_reservations", view.openReservations());
    json.put("last_write", view.lastWrite());
    json.put("scopes", scopeJson(Budget.INSTALLATION_SCOPE, budgets.installationScope(), view.lines()));
    return json;
  }

  private static Optional<BudgetBook.ScopeCaps> capsOf(TenantConfig.BudgetSettings settings, String scope) {
    double ratio = settings.hardLimitRatio();
    if (scope.equals(Budget.TENANT_SCOPE)) {
      return settings.forTenant().map(c -> BudgetService.scopeCaps(scope, c, ratio));
    }
    if (scope.startsWith("account:")) {
      return settings.forAccount(scope.substring(8)).map(c -> BudgetService.scopeCaps(scope, c, ratio));
    }
    return settings.forKey(scope.substring(4)).map(c -> BudgetService.scopeCaps(scope, c, ratio));
  }

  /** One entry per period of a scope: its caps beside what is settled and held. */
  private static List<Map<String, Object>> scopeJson(String scope, Optional<BudgetBook.ScopeCaps> caps,
      List<Budget.LineView> lines) {
    List<Map<String, Object>> out = new ArrayList<>();
    java.time.Instant now = java.time.Instant.now();
    for (BudgetPeriod period : BudgetPeriod.values()) {
      Budget.LineView line = lines.stream().filter(l -> l.period().equals(period.wireName())).findFirst().orElse(null);
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("scope", scope);
      json.put("period", period.wireName());
      json.put("period_key", line != null ? line.periodKey() : period.key(now));
      json.put("period_start", line != null ? line.periodStart() : period.start(now));
      json.put("resets_at", line != null ? line.resetsAt() : period.end(now));
      json.put("reset_at", line != null ? line.resetAt() : null);
      json.put("hard_limit_ratio", caps.map(BudgetBook.ScopeCaps::hardLimitRatio).orElse(null));
      Long tokenCap = caps.map(c -> c.tokens(period)).orElse(null);
      Long spendCap = caps.map(c -> c.microUsd(period)).orElse(null);
      long settledTokens = line == null ? 0 : line.settledTokens();
      long heldTokens = line == null ? 0 : line.heldTokens();
      long settledMicros = line == null ? 0 : line.settledMicroUsd();
      long heldMicros = line == null ? 0 : line.heldMicroUsd();
      Map<String, Object> tokens = new LinkedHashMap<>();
      tokens.put("cap", tokenCap);
      tokens.put("settled", settledTokens);
      tokens.put("reserved", heldTokens);
      tokens.put("used_ratio", tokenCap == null ? null : (double) (settledTokens + heldTokens) / tokenCap);
      json.put("tokens", tokens);
      Map<String, Object> spend = new LinkedHashMap<>();
      spend.put("cap_usd", spendCap == null ? null : spendCap / 1e6);
      spend.put("settled_usd", settledMicros / 1e6);
      spend.put("reserved_usd", heldMicros / 1e6);
      spend.put("used_ratio", spendCap == null ? null : (double) (settledMicros + heldMicros) / spendCap);
      json.put("spend", spend);
      out.add(json);
    }
    return out;
  }
}
