package dev.atrium.sessions;

import dev.atrium.core.http.PageLimit;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Admin inspection of sessions (admin port, behind the admin token): lists from
 * {@code chat_sessions}, details and messages from the entity, across all keys of a tenant.
 */
record SessionAdminRoutes(TenantRegistry registry, SessionAccess access, SessionQueries queries) {

  Route route() {
    return pathPrefix(PathMatchers.segment("tenants").slash(PathMatchers.segment()).slash("sessions"), tenantId -> {
      if (registry.byId(tenantId).isEmpty()) {
        throw ApiError.notFound("No tenant '" + tenantId + "'.");
      }
      Caller admin = Caller.admin(tenantId);
      return get(() -> concat(
          pathEndOrSingleSlash(() -> list(tenantId)),
          pathPrefix(PathMatchers.segment(), sessionId -> concat(
              pathEndOrSingleSlash(() -> onSuccess(access.<ChatSession.SessionView>ask(tenantId, sessionId,
                      r -> new ChatSession.GetSession(admin, r)),
                  view -> JsonRoutes.json(SessionJson.session(view, true)))),
              path("messages", () -> parameterOptional("limit", limit -> parameterOptional("before", before -> {
                int n = PageLimit.parse(limit, 100, 1000);
                return onSuccess(access.<ChatSession.MessagesPage>ask(tenantId, sessionId,
                        r -> new ChatSession.GetMessages(admin, n, before.orElse(null), r)),
                    page -> JsonRoutes.json(TurnRoutes.messagesPage(page)));
              })))))));
    });
  }

  private Route list(String tenantId) {
    return parameterOptional("key_id", keyId -> parameterOptional("user_id", userId -> parameterOptional("active_since", since ->
        parameterOptional("status", status -> parameterOptional("limit", limit -> parameterOptional("cursor", cursor -> {
          Optional<Instant> activeSince = since.map(SessionAdminRoutes::instant);
          boolean activeOnly = status.map(s -> s.equals("active")).orElse(false);
          if (keyId.isPresent() && userId.isPresent()) {
            throw ApiError.badRequest("invalid_parameter", "Filter by key_id or by user_id, not both.")
                .withExtension("param", "user_id");
          }
          Optional<Owner> owner = userId.map(Owner::user).or(() -> keyId.map(Owner::key));
          var filter = new SessionQueries.Filter(owner, activeSince, activeOnly);
          return onSuccess(queries.list(tenantId, filter, PageLimit.parse(limit, 50, 500), cursor), page -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("data", page.sessions());
            body.put("next_cursor", page.nextCursor().orElse(null));
            return JsonRoutes.json(body);
          });
        }))))));
  }

  private static Instant instant(String text) {
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw ApiError.badRequest("invalid_parameter", "active_since must be an ISO-8601 instant such as 2026-11-23T00:00:00Z")
          .withExtension("param", "active_since");
    }
  }
}
