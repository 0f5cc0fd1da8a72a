package dev.atrium.sessions;

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
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** The native session API under {@code /v1/chat/sessions}. */
final class SessionRoutes {
  private final SessionsModule module;
  private final TurnRoutes turns;

  SessionRoutes(SessionsModule module) {
    this.module = module;
    this.turns = new TurnRoutes(module);
  }

  record CreateRequest(String title, String systemPrompt, String model, Boolean rag) {}

  Route route() {
    return pathPrefix(PathMatchers.segment("v1").slash("chat").slash("sessions"), () ->
        module.tenants.principal(RouteClass.CHAT, principal -> concat(
            pathEndOrSingleSlash(() -> concat(
                post(() -> JsonRoutes.body(CreateRequest.class, request -> create(principal, request))),
                get(() -> list(principal)))),
            pathPrefix(PathMatchers.segment(), sessionId -> concat(
                pathEndOrSingleSlash(() -> concat(
                    get(() -> show(principal, sessionId)),
                    delete(() -> close(principal, sessionId)))),
                path("messages", () -> concat(
                    get(() -> messages(principal, sessionId)),
                    post(() -> optionalHeaderValueByName(IdempotencyKey.HEADER, key ->
                        JsonRoutes.body(TurnRoutes.SendRequest.class, request ->
                            turns.send(principal, sessionId, request, key)))))))))));
  }

  private Route create(Principal principal, CreateRequest request) {
    ChatSession.Caller caller = SessionsModule.persistentCaller(principal);
    TenantConfig tenant = module.tenant(principal);
    String model = request.model() == null ? tenant.models().defaultModel() : request.model();
    TurnRoutes.requireModel(module, tenant, model);
    if (request.title() != null && request.title().length() > 200) {
      throw ApiError.badRequest("invalid_field", "title is longer than 200 characters").withExtension("param", "title");
    }
    if (request.systemPrompt() != null && request.systemPrompt().length() > tenant.limits().maxPromptChars()) {
      throw ApiError.payloadTooLarge("system_prompt is longer than this tenant's max_prompt_chars ("
          + tenant.limits().maxPromptChars() + ")");
    }
    String sessionId = "s_" + UUID.randomUUID().toString().replace("-", "");
    var created = module.session(principal.tenantId(), sessionId).<ChatSession.SessionView>askWithStatus(
        r -> new ChatSession.Create(caller, request.title(), request.systemPrompt(), model, request.rag(), r),
        module.askTimeout);
    return onSuccess(Asks.mapped(created), view ->
        respondWithHeader(Location.create("/v1/chat/sessions/" + sessionId), () ->
            JsonRoutes.json(StatusCodes.CREATED, SessionJson.session(view, false))));
  }

  private Route list(Principal principal) {
    ChatSession.Caller caller = SessionsModule.persistentCaller(principal);
    return parameterOptional("limit", limit -> parameterOptional("cursor", cursor -> {
      int n = TurnRoutes.limit(limit, 20, 100);
      var filter = new SessionQueries.Filter(Optional.of(caller.keyId()), Optional.empty(), true);
      return onSuccess(module.queries.list(principal.tenantId(), filter, n, cursor), page -> {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", page.sessions());
        body.put("next_cursor", page.nextCursor().orElse(null));
        return JsonRoutes.json(body);
      });
    }));
  }

  private Route show(Principal principal, String sessionId) {
    ChatSession.Caller caller = SessionsModule.persistentCaller(principal);
    var view = module.session(principal.tenantId(), sessionId).<ChatSession.SessionView>askWithStatus(
        r -> new ChatSession.GetSession(caller, r), module.askTimeout);
    return onSuccess(Asks.mapped(view), v -> JsonRoutes.json(SessionJson.session(v, false)));
  }

  private Route close(Principal principal, String sessionId) {
    ChatSession.Caller caller = SessionsModule.persistentCaller(principal);
    var closed = module.session(principal.tenantId(), sessionId).<org.apache.pekko.Done>askWithStatus(
        r -> new ChatSession.CloseSession(caller, r), module.askTimeout);
    return onSuccess(Asks.mapped(closed), done -> complete(StatusCodes.NO_CONTENT));
  }

  private Route messages(Principal principal, String sessionId) {
    ChatSession.Caller caller = SessionsModule.persistentCaller(principal);
    return parameterOptional("limit", limit -> parameterOptional("before", before -> {
      int n = TurnRoutes.limit(limit, 50, 200);
      var page = module.session(principal.tenantId(), sessionId).<ChatSession.MessagesPage>askWithStatus(
          r -> new ChatSession.GetMessages(caller, n, before.orElse(null), r), module.askTimeout);
      return onSuccess(Asks.mapped(page), p -> JsonRoutes.json(TurnRoutes.messagesPage(p)));
    }));
  }
}
