package dev.atrium.sessions;

import dev.atrium.core.http.PageLimit;
import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.delete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.IdempotencyKey;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** The native session API under {@code /v1/chat/sessions}. */
record SessionRoutes(TenantDirectives tenants, SessionAccess access, SessionQueries queries, ModelGateway gateway,
    TurnRoutes turns) {

  record CreateRequest(String title, String systemPrompt, String model, Boolean rag) {}

  Route route() {
    return pathPrefix(PathMatchers.segment("v1").slash("chat").slash("sessions"), () ->
        tenants.principal(RouteClass.CHAT, principal -> concat(
            pathEndOrSingleSlash(() -> concat(
                post(() -> TenantDirectives.requestId(requestId ->
                    JsonRoutes.body(CreateRequest.class, request -> create(principal, requestId, request)))),
                get(() -> list(principal)))),
            pathPrefix(PathMatchers.segment(), sessionId -> concat(
                pathEndOrSingleSlash(() -> concat(
                    get(() -> show(principal, sessionId)),
                    delete(() -> close(principal, sessionId)))),
                path("messages", () -> concat(
                    get(() -> messages(principal, sessionId)),
                    post(() -> optionalHeaderValueByName(IdempotencyKey.HEADER, key ->
                        TenantDirectives.requestId(requestId -> TurnRoutes.cacheDirective(cache ->
                            JsonRoutes.body(TurnRoutes.SendRequest.class,
                                request -> turns.send(principal, requestId, sessionId, request, key, cache)))))))))))));
  }

  private Route create(Principal principal, String requestId, CreateRequest request) {
    Caller caller = ChatSession.caller(principal);
    TenantConfig tenant = tenants.registry().byId(principal.tenantId()).orElseThrow();
    if (request.model() != null) {
      TurnRoutes.requireModel(gateway, tenant, request.model());
    }
    String model = request.model() == null ? tenant.models().modelFor(ModelTask.CHAT) : request.model();
    if (request.title() != null && request.title().length() > 200) {
      throw ApiError.badRequest("invalid_field", "title is longer than 200 characters").withExtension("param", "title");
    }
    int limit = tenant.maxPromptChars(RouteClass.CHAT, principal.tier());
    if (request.systemPrompt() != null && request.systemPrompt().length() > limit) {
      throw ApiError.payloadTooLarge("system_prompt is longer than this tenant's max_prompt_chars (" + limit + ")");
    }
    if (request.systemPrompt() != null) {
      // Screened now: a system prompt the blocklists block would refuse every turn of the session.
      gateway.screen(UsageContext.request(principal, requestId, RouteClass.CHAT), UsageRecord.CHAT, model,
          request.systemPrompt());
    }
    String sessionId = "s_" + UUID.randomUUID().toString().replace("-", "");
    var created = access.<ChatSession.SessionView>ask(principal.tenantId(), sessionId,
        r -> new ChatSession.Create(caller, request.title(), request.systemPrompt(), model, request.rag(), r));
    return onSuccess(created, view ->
        respondWithHeader(Location.create("/v1/chat/sessions/" + sessionId), () ->
            JsonRoutes.json(StatusCodes.CREATED, SessionJson.session(view, false))));
  }

  private Route list(Principal principal) {
    Caller caller = ChatSession.caller(principal);
    return parameterOptional("limit", limit -> parameterOptional("cursor", cursor -> {
      int n = PageLimit.parse(limit, 20, 100);
      var filter = new SessionQueries.Filter(Optional.of(caller.owner()), Optional.empty(), true);
      return onSuccess(queries.list(principal.tenantId(), filter, n, cursor), page -> {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", page.sessions());
        body.put("next_cursor", page.nextCursor().orElse(null));
        return JsonRoutes.json(body);
      });
    }));
  }

  private Route show(Principal principal, String sessionId) {
    Caller caller = ChatSession.caller(principal);
    var view = access.<ChatSession.SessionView>ask(principal.tenantId(), sessionId,
        r -> new ChatSession.GetSession(caller, r));
    return onSuccess(view, v -> JsonRoutes.json(SessionJson.session(v, false)));
  }

  private Route close(Principal principal, String sessionId) {
    Caller caller = ChatSession.caller(principal);
    var closed = access.<org.apache.pekko.Done>ask(principal.tenantId(), sessionId,
        r -> new ChatSession.CloseSession(caller, r));
    return onSuccess(closed, done -> complete(StatusCodes.NO_CONTENT));
  }

  private Route messages(Principal principal, String sessionId) {
    Caller caller = ChatSession.caller(principal);
    return parameterOptional("limit", limit -> parameterOptional("before", before -> {
      int n = PageLimit.parse(limit, 50, 200);
      var page = access.<ChatSession.MessagesPage>ask(principal.tenantId(), sessionId,
          r -> new ChatSession.GetMessages(caller, n, before.orElse(null), r));
      return onSuccess(page, p -> JsonRoutes.json(TurnRoutes.messagesPage(p)));
    }));
  }
}
