package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.IdempotencyKey;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.Sse;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.Tier;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.CompletionChunks;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.cache.CacheDirective;
import dev.atrium.gateway.cache.CacheStatus;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A turn through the native API: {@code POST /v1/chat/sessions/{id}/messages}. {@link ChatTurn}
 * runs it; this renders it: SSE events ({@code message.start}, {@code citation}, {@code delta},
 * {@code usage}, {@code done} once the answer is persisted, or {@code error}), or one JSON
 * document with {@code stream: false}.
 */
record TurnRoutes(TenantDirectives tenants, SessionAccess access, ChatTurn.Settings turns, Duration heartbeat) {

  record SendRequest(String content, String model, Boolean stream, Boolean rag) {}

  Route send(Principal principal, String requestId, String sessionId, SendRequest request,
      Optional<String> idempotencyKey, CacheDirective cache) {
    Caller caller = ChatSession.caller(principal);
    TenantConfig tenant = tenants.registry().byId(principal.tenantId()).orElseThrow();
    String content = request.content();
    if (content == null || content.isBlank()) {
      throw ApiError.badRequest("empty_content", "content must be a non-empty string").withExtension("param", "content");
    }
    checkPromptSize(tenant, RouteClass.CHAT, principal.tier(), content.length());
    if (request.model() != null) {
      requireModel(turns.gateway(), tenant, request.model());
    }
    IdempotencyKey.checked(idempotencyKey);
    UsageContext usage = UsageContext.request(principal, requestId, RouteClass.CHAT);
    // A blocked message is refused before the session stores it (stored, it would block every later turn).
    turns.gateway().screen(usage, UsageRecord.CHAT, request.model(), content);
    return turns.gateway().providerKeys().providerKey(tenant, key -> {
      if (key.isPresent() && request.model() != null) {
        // Refused now rather than once the session has started the turn (a session's own model is known only then).
        turns.gateway().resolve(tenant.id(), request.model(), key);
      }
      var turn = new ChatTurn.Request(caller, sessionId, ChatMessage.user(content), request.model(), request.rag(),
          idempotencyKey.orElse(null), null, usage, key.orElse(null), cache);
      boolean stream = request.stream() == null || request.stream();
      if (stream) {
        return tenants.streamSlot(principal, RouteClass.CHAT, slot -> begin(tenant, turn, slot, true));
      }
      return begin(tenant, turn, StreamSlot.UNLIMITED, false);
    });
  }

  private Route begin(TenantConfig tenant, ChatTurn.Request request, StreamSlot slot, boolean stream) {
    var session = access.session(request.caller().tenantId(), request.sessionId());
    return onSuccess(ChatTurn.begin(turns, session, request, slot), begun -> {
      if (begun instanceof ChatTurn.Replayed replayed) {
        return replay(request.sessionId(), replayed.replay(), stream);
      }
      ChatTurn turn = ((ChatTurn.Go) begun).turn();
      if (!stream) {
        return whole(tenant, request.sessionId(), turn);
      }
      if (request.providerKey() == null && !turns.gateway().budgeted(tenant.id()) && !tenant.features().responseCache()
          && !turns.gateway().screensInput(tenant.id())) {
        return says(tenant, turn, () -> streamed(request.sessionId(), turn, turn.answer()));
      }
      // On the caller's key the stream starts once the provider has answered: whether the
      // call fell back is then known for the header, and a refused key is a proper 401. A
      // budgeted call too: a refusal by its budget is then a proper 429. And for a tenant
      // with the response cache: whether the call was a hit is then known for x-atrium-cache.
      // And one with input guardrails: a blocked input is then a proper 400 content_blocked.
      return onSuccess(turn.answered(),
          answer -> says(tenant, turn, () -> streamed(request.sessionId(), turn, answer)));
    });
  }

  /**
   * The route, saying {@code x-atrium-fallback: tenant-provider} when a tenant that takes
   * callers' provider keys answered on its own provider (no key came, or the caller's failed
   * before the first token), and {@code x-atrium-cache} what the response cache did, when
   * the call was the cache's.
   */
  static Route says(TenantConfig tenant, ChatTurn turn, Supplier<Route> inner) {
    Supplier<Route> cached = turn.cacheStatus().header()
        .<Supplier<Route>>map(status -> () -> respondWithHeader(RawHeader.create(CacheStatus.HEADER, status), inner))
        .orElse(inner);
    return turn.fellBackToTenant(tenant) ? respondWithHeader(FALLBACK, cached) : cached.get();
  }

  static final RawHeader FALLBACK = RawHeader.create("x-atrium-fallback", "tenant-provider");

  /** What the request's {@code cache-control} header asks of the response cache (both chat doors read it). */
  static Route cacheDirective(Function<CacheDirective, Route> inner) {
    return optionalHeaderValueByName("cache-control", value -> inner.apply(CacheDirective.of(value)));
  }

  private Route streamed(String sessionId, ChatTurn turn, Source<ChatEvent, NotUsed> events) {
    Source<ByteString, NotUsed> citations = Source.completionStage(turn.passages())
        .mapConcat(passages -> passages.stream().map(p -> Sse.event("citation", Passage.citation(p))).toList());
    Source<ByteString, NotUsed> answer = events
        .filter(event -> event instanceof ChatEvent.Delta d && !d.content().isEmpty())
        .map(event -> deltaEvent(((ChatEvent.Delta) event).content()))
        .concatLazy(Source.lazyCompletionStage(turn::recorded)
            .mapConcat(recorded -> List.of(Sse.event("usage", usage(recorded.usage())), Sse.event("done", done(recorded))))
            .mapMaterializedValue(m -> NotUsed.getInstance()))
        .recover(new PFBuilder<Throwable, ByteString>()
            .match(Throwable.class, error -> Sse.event("error", errorBody(error))).build());
    Source<ByteString, NotUsed> all = Source.single(Sse.event("message.start", start(sessionId, turn)))
        .concat(citations).concat(answer);
    return complete(Sse.response(all.keepAlive(heartbeat, () -> Sse.HEARTBEAT)));
  }

  private static final ByteString DELTA_START = ByteString.fromString("event: delta\ndata: {\"text\":\"");
  private static final ByteString DELTA_END = ByteString.fromString("\"}\n\n");

  /** The {@code delta} event, written as bytes: the text JSON-escaped between constant parts, no map, no mapper. */
  static ByteString deltaEvent(String text) {
    return DELTA_START.concat(CompletionChunks.jsonText(text)).concat(DELTA_END);
  }

  /** {@code stream: false}: the provider's whole answer, recorded, as one JSON document. */
  private Route whole(TenantConfig tenant, String sessionId, ChatTurn turn) {
    var body = turn.whole().thenCombine(turn.passages(), (recorded, cited) -> {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("session_id", sessionId);
      json.put("turn_id", turn.turnId());
      json.put("model", turn.model());
      json.put("message", SessionJson.message(recorded.message()));
      json.put("finish_reason", recorded.finishReason());
      json.put("citations", cited.stream().map(Passage::citation).toList());
      json.put("usage", usage(recorded.usage()));
      return json;
    });
    return onSuccess(body, json -> says(tenant, turn, () -> JsonRoutes.json(json)));
  }

  private Route replay(String sessionId, ChatSession.Replay replay, boolean stream) {
    SessionState.Message answer = replay.assistantMessage();
    Map<String, Object> usage = Map.of("tokens_in", replay.userMessage().tokens(), "tokens_out", answer.tokens());
    if (!stream) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("session_id", sessionId);
      body.put("turn_id", replay.turn().turnId());
      body.put("replayed", true);
      body.put("message", SessionJson.message(answer));
      body.put("usage", usage);
      return JsonRoutes.json(body);
    }
    Map<String, Object> done = new LinkedHashMap<>();
    done.put("message_id", answer.id());
    done.put("finish_reason", answer.interrupted() ? "interrupted" : "stop");
    Map<String, Object> start = start(sessionId, replay.turn().turnId(), replay.turn().userMessageId(),
        replay.turn().assistantMessageId(), replay.turn().model());
    start.put("replayed", true);
    return complete(Sse.response(Source.from(List.of(Sse.event("message.start", start),
        Sse.event("delta", Map.of("text", answer.content())), Sse.event("usage", usage), Sse.event("done", done)))));
  }

  private static Map<String, Object> start(String sessionId, ChatTurn turn) {
    return start(sessionId, turn.turnId(), turn.turn().userMessageId(), turn.turn().assistantMessageId(), turn.model());
  }

  private static Map<String, Object> start(String sessionId, String turnId, String userMessageId,
      String assistantMessageId, String model) {
    Map<String, Object> start = new LinkedHashMap<>();
    start.put("session_id", sessionId);
    start.put("turn_id", turnId);
    start.put("user_message_id", userMessageId);
    start.put("assistant_message_id", assistantMessageId);
    start.put("model", model);
    return start;
  }

  private static Map<String, Object> usage(ChatEvent.Usage usage) {
    return Map.of("tokens_in", usage.promptTokens(), "tokens_out", usage.completionTokens());
  }

  private static Map<String, Object> done(ChatTurn.Recorded recorded) {
    Map<String, Object> done = new LinkedHashMap<>();
    done.put("message_id", recorded.message().id());
    done.put("finish_reason", recorded.finishReason());
    return done;
  }

  /**
   * The {@code error} event's body: the provider's code and message, the gateway's own
   * refusal (an answer its guardrails blocked: {@code content_blocked} with the rule), or a
   * generic one.
   */
  static Map<String, Object> errorBody(Throwable error) {
    Throwable cause = dev.atrium.core.Futures.unwrap(error);
    if (cause instanceof ProviderException p) {
      return Map.of("code", p.code(), "message", p.getMessage());
    }
    if (cause instanceof ApiError refused) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("code", refused.code());
      body.put("message", refused.getMessage());
      if (refused.extensions().get("rule") != null) {
        body.put("rule", refused.extensions().get("rule"));
      }
      return body;
    }
    return Map.of("code", "internal_error", "message", "the answer could not be completed");
  }

  static void requireModel(ModelGateway gateway, TenantConfig tenant, String model) {
    if (!tenant.models().allows(model)) {
      List<String> allowed = gateway.models(tenant.id());
      throw ApiError.badRequest("unknown_model", "Unknown model '" + model + "'; this tenant's models are " + allowed)
          .withExtension("param", "model").withExtension("allowed_models", allowed);
    }
  }

  /** 413 for a prompt over the tenant's limit for the route class and tier ({@link TenantConfig#maxPromptChars}). */
  static void checkPromptSize(TenantConfig tenant, RouteClass routeClass, Tier tier, int chars) {
    int limit = tenant.maxPromptChars(routeClass, tier);
    if (chars > limit) {
      throw ApiError.payloadTooLarge("The prompt has " + chars + " characters; this tenant's limit (max_prompt_chars) is "
          + limit + ".").withExtension("limit_chars", limit);
    }
  }

  static Map<String, Object> messagesPage(ChatSession.MessagesPage page) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("data", page.messages().stream().map(SessionJson::message).toList());
    body.put("has_more", page.hasMore());
    body.put("first_id", page.messages().isEmpty() ? null : page.messages().get(0).id());
    return body;
  }
}
