package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.IdempotencyKey;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.byok.ProviderKey;
import dev.atrium.gateway.cache.CacheDirective;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.server.PathMatcher0;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

/**
 * What the provider-compatible chat doors ({@code /v1/chat/completions}, {@code /v1/messages})
 * share, so they differ only in their wire format: the call's principal (route class
 * completions), its headers ({@code x-session-id}, {@code Idempotency-Key},
 * {@code cache-control}, the caller's provider keys), the model's route, and the dispatch
 * to {@link ChatTurn} — stateless, or a turn of the session whose stored history is the
 * context, or the replay of an earlier turn of the same Idempotency-Key. Each door renders
 * the turn ({@link Rendering}).
 */
record ChatDoor(TenantDirectives tenants, SessionAccess access, ChatTurn.Settings turns) {

  /** A call as its principal, headers and body say it, with the caller's provider key if one came. */
  record Call(TenantConfig tenant, Principal principal, UsageContext usage, Optional<String> sessionId,
      Optional<String> idempotencyKey, CacheDirective cache, ObjectNode body, Optional<ProviderKey> key) {}

  /** How a door writes a turn's answer, and the replay of an earlier one. */
  interface Rendering {
    Route render(ChatTurn turn);

    Route replay(Replayed replay);
  }

  /**
   * An earlier turn of the same Idempotency-Key as a door renders it: its stored answer and
   * usage, and as a finished stream (the answer in one delta, "stop") with its record.
   */
  record Replayed(ChatMessage answer, ChatEvent.Usage usage) {
    static Replayed of(ChatSession.Replay replay) {
      return new Replayed(replay.assistantMessage().message(),
          new ChatEvent.Usage(replay.userMessage().tokens(), replay.assistantMessage().tokens()));
    }

    Source<ChatEvent, NotUsed> events() {
      return Source.from(List.of(ChatEvent.Delta.text(answer.text()), new ChatEvent.Finish("stop")));
    }

    CompletionStage<ChatTurn.Recorded> recorded() {
      return CompletableFuture.completedFuture(
          new ChatTurn.Recorded(null, answer, usage, "stop", ChatTurn.Ending.COMPLETED, null));
    }
  }

  /** {@code POST path} with a JSON object body, for a caller of route class completions. */
  Route route(PathMatcher0 at, Function<Call, Route> handle) {
    return path(at, () -> post(() ->
        tenants.principal(RouteClass.COMPLETIONS, principal -> TenantDirectives.requestId(requestId ->
            optionalHeaderValueByName("x-session-id", sessionId ->
                optionalHeaderValueByName(IdempotencyKey.HEADER, idempotencyKey ->
                    TurnRoutes.cacheDirective(cache -> JsonRoutes.body(ObjectNode.class, body -> {
                      TenantConfig tenant = tenants.registry().byId(principal.tenantId()).orElseThrow();
                      IdempotencyKey.checked(idempotencyKey);
                      UsageContext usage = UsageContext.request(principal, requestId, RouteClass.COMPLETIONS);
                      return turns.gateway().providerKeys().providerKey(tenant, key -> handle.apply(new Call(tenant,
                          principal, usage, sessionId, idempotencyKey, cache, body, key)));
                    }))))))));
  }

  /** The model's route for this caller (its provider key included), or {@code unknown}'s error. */
  ModelGateway.Route resolve(Call call, String model, Supplier<ApiError> unknown) {
    return turns.gateway().resolve(call.principal().tenantId(), model, call.key()).orElseThrow(unknown);
  }

  /**
   * Runs the call: a streamed one holds a stream slot; without {@code x-session-id} the
   * messages are the whole context, with it the last one must be the user's new message.
   */
  Route dispatch(Call call, ModelGateway.Route route, List<ChatMessage> messages, ObjectNode options, boolean stream,
      Rendering rendering) {
    TurnRoutes.checkPromptSize(call.tenant(), RouteClass.COMPLETIONS, call.principal().tier(),
        messages.stream().mapToInt(m -> m.text().length()).sum());
    ChatMessage last = messages.get(messages.size() - 1);
    if (call.sessionId().isPresent() && (!"user".equals(last.role()) || last.text().isBlank())) {
      throw ApiError.badRequest("invalid_request",
          "with x-session-id the last message must be the user's new message; the session holds the history")
          .withExtension("param", "messages");
    }
    if (stream) {
      return tenants.streamSlot(call.principal(), RouteClass.COMPLETIONS,
          slot -> dispatch(call, route, messages, options, slot, rendering));
    }
    return dispatch(call, route, messages, options, StreamSlot.UNLIMITED, rendering);
  }

  private Route dispatch(Call call, ModelGateway.Route route, List<ChatMessage> messages, ObjectNode options,
      StreamSlot slot, Rendering rendering) {
    if (call.sessionId().isEmpty()) {
      return rendering.render(ChatTurn.stateless(turns, call.usage(), route, messages, options, slot, call.cache()));
    }
    String sessionId = call.sessionId().get();
    ChatMessage last = messages.get(messages.size() - 1);
    // A blocked message is refused before the session stores it.
    turns.gateway().screen(call.usage(), UsageRecord.CHAT, route.model(), last.text());
    // The compatible doors send what the client sent: no retrieval of the tenant's documents.
    var request = new ChatTurn.Request(ChatSession.caller(call.principal()), sessionId, last, route.model(),
        false, call.idempotencyKey().orElse(null), options, call.usage(), call.key().orElse(null), call.cache());
    var session = access.session(call.principal().tenantId(), sessionId);
    return onSuccess(ChatTurn.begin(turns, session, request, slot), begun -> begun instanceof ChatTurn.Replayed r
        ? rendering.replay(Replayed.of(r.replay()))
        : rendering.render(((ChatTurn.Go) begun).turn()));
  }
}
