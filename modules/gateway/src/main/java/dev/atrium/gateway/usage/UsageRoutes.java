package dev.atrium.gateway.usage;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import dev.atrium.core.http.Accounts;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import java.time.Clock;
import java.time.LocalDate;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.ContentDisposition;
import org.apache.pekko.http.javadsl.model.headers.ContentDispositionTypes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The usage routes: {@code GET /v1/usage} (the caller's usage: its account's when it has
 * one, else its tenant's for a key; see {@link #accountScope}), and on the admin port {@code GET /admin/tenants/{t}/usage}
 * and {@code GET /admin/usage/export?date=&format=}.
 */
final class UsageRoutes {
  private final TenantDirectives tenants;
  private final UsageQueries queries;
  private final UsageExport export;
  private final Clock clock;

  UsageRoutes(TenantDirectives tenants, UsageQueries queries, UsageExport export, Clock clock) {
    this.tenants = tenants;
    this.queries = queries;
    this.export = export;
    this.clock = clock;
  }

  Route publicRoute() {
    return path(PathMatchers.segment("v1").slash("usage"), () -> get(() ->
        tenants.principal(RouteClass.DEFAULT, principal -> report(principal.tenantId(), accountScope(principal)))));
  }

  /**
   * Whose usage the caller sees: its account's when it acts for one; the whole tenant's for
   * an API key without an account (a tenant-level key the operator issued). A user is a
   * person, never the tenant: without an account, 403 {@code account_required}. Anonymous
   * callers see none (403 {@code usage_needs_key}).
   */
  static String accountScope(Principal principal) {
    return switch (principal.kind()) {
      case ANONYMOUS -> throw ApiError.forbidden("usage_needs_key",
          "Usage is shown to the holder of an API key of the tenant.");
      case USER -> Accounts.required(principal);
      case KEY -> principal.accountId().orElse(null);
    };
  }

  /** Under {@code /admin}. */
  Route adminRoute() {
    return concat(
        path(PathMatchers.segment("usage").slash("export"), () -> get(this::export)),
        pathPrefix(PathMatchers.segment("tenants").slash(PathMatchers.segment()).slash("usage"), tenantId -> {
          if (tenants.registry().byId(tenantId).isEmpty()) {
            throw ApiError.notFound("No tenant '" + tenantId + "'.");
          }
          return pathEndOrSingleSlash(() -> get(() -> report(tenantId, null)));
        }));
  }

  private Route report(String tenantId, String accountId) {
    return parameterOptional("from", from -> parameterOptional("to", to -> parameterOptional("group_by", groupBy ->
        onSuccess(queries.report(tenantId, accountId, UsageReport.Range.parse(from, to, UsageDailyTable.today(clock)),
            UsageReport.GroupBy.parse(groupBy)), JsonRoutes::json))));
  }

  private Route export() {
    return parameterOptional("date", date -> parameterOptional("format", formatName -> {
      LocalDate day = UsageReport.date("date", date.orElseThrow(() ->
          ApiError.badRequest("invalid_parameter", "date is required (YYYY-MM-DD)").withExtension("param", "date")));
      UsageExport.Format format = UsageExport.Format.parse(formatName);
      String file = "usage-" + day + "." + format.name().toLowerCase(java.util.Locale.ROOT);
      return complete(HttpResponse.create()
          .addHeader(ContentDisposition.create(ContentDispositionTypes.ATTACHMENT, Map.of("filename", file)))
          .withEntity(HttpEntities.createChunked(format.contentType(), export.export(day, format))));
    }));
  }
}
