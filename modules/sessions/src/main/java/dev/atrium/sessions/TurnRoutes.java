package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.IdempotencyKey;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.Sse;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.Messages;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.Tokens;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A turn through the native API: {@code POST /v1/chat/sessions/{id}/messages}. The session
 * records the user message and a lease first; the answer streams as SSE ({@code
 * message.start}, {@code delta}, {@code usage}, {@code done}, or {@code error}) or comes
 * back whole with {@code stream: false}.
 */
final class TurnRoutes {
  private final SessionsModule module;

  TurnRoutes(SessionsModule module) {
    this.module = module;
  }

  record SendRequest(String content, String model, Boolean stream, Boolean rag) {}

  Route send(Principal principal, String sessionId, SendRequest request, Optional<String> idempotencyKey) {
    ChatSession.Caller caller = SessionsModule.persistentCaller(principal);
    TenantConfig tenant = module.tenant(principal);
    String content = request.content();
    if (content == null || content.isBlank()) {
      throw ApiError.badRequest("empty_content", "content must be a non-empty string").withExtension("param", "content");
    }
    checkPromptSize(tenant, content.length());
    if (request.model() != null) {
      requireModel(module, tenant, request.model());
    }
    IdempotencyKey.checked(idempotencyKey);
    boolean stream = request.stream() == null || request.stream();
    if (stream) {
      return module.withStreamSlot(principal, RouteClass.CHAT,
          slot -> startTurn(principal, caller, sessionId, request, idempotencyKey, true, slot));
    }
    return startTurn(principal, caller, sessionId, request, idempotencyKey, false, StreamSlot.UNLIMITED);
  }

  private Route startTurn(Principal principal, ChatSession.Caller caller, String sessionId, SendRequest request,
      Optional<String> idempotencyKey, boolean stream, StreamSlot slot) {
    var session = module.session(principal.tenantId(), sessionId);
    var started = module.startTurn(session, caller, request.content(), request.model(), idempotencyKey.orElse(null));
    return onSuccess(Asks.mapped(started).whenComplete((reply, error) -> {
      if (error != null) {
        slot.release();
      }
    }), reply -> {
      if (!(reply instanceof ChatSession.Started)) {
        slot.release();
      }
      if (reply instanceof ChatSession.Busy busy) {
        throw busy(busy);
      }
      if (reply instanceof ChatSession.Replay replay) {
        return replay(sessionId, replay, stream);
      }
      ChatSession.Started turn = (ChatSession.Started) reply;
      List<ObjectNode> history = turn.context().stream().map(m -> Messages.of(m.role(), m.content())).toList();
      TurnRecorder recorder = new TurnRecorder(session, caller, turn.turn().turnId(), Tokens.countMessages(history),
          module.askTimeout, module.leaseRenewal);
      var passages = module.passages(principal.tenantId(), request.rag(), turn.rag(), request.content())
          .whenComplete((p, error) -> {
            if (error != null) {
              slot.release();
              recorder.failed(error);
              recorder.record();
            }
          });
      return onSuccess(passages, cited -> {
        List<ObjectNode> context = SessionsModule.withPassages(history, cited);
        try {
          ModelGateway.Route route = module.gateway.resolve(principal.tenantId(), turn.turn().model())
              .or(() -> module.gateway.resolve(principal.tenantId(), null)).orElseThrow();
          if (stream) {
            Source<ByteString, NotUsed> events = TurnStreams.nativeEvents(
                module.gateway.stream(route, context, null, cited), recorder,
                start(sessionId, turn.turn(), route.model(), false), cited, module.heartbeat, slot);
            return complete(Sse.response(events));
          }
          return whole(sessionId, turn, route, context, cited, recorder);
        } catch (RuntimeException e) {
          // The turn holds the session's lease: end it rather than leave it to expire.
          slot.release();
          recorder.failed(e);
          recorder.record();
          throw e;
        }
      });
    });
  }

  /** {@code stream: false}: the provider's whole answer, recorded, as one JSON document. */
  private Route whole(String sessionId, ChatSession.Started turn, ModelGateway.Route route, List<ObjectNode> context,
      List<dev.atrium.gateway.Passage> cited, TurnRecorder recorder) {
    CompletionStage<Map<String, Object>> answer = module.gateway.complete(route, context, null, cited)
        .handle((result, error) -> {
          if (error != null) {
            recorder.failed(error);
          } else {
            recorder.observe(new ChatEvent.Delta(result.content(), null));
            if (result.usage() != null) {
              recorder.observe(result.usage());
            }
            recorder.observe(new ChatEvent.Finish(result.finishReason()));
            recorder.completed();
          }
          return recorder.record().thenApply(message -> {
            if (error != null) {
              throw providerError(error);
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("session_id", sessionId);
            body.put("turn_id", turn.turn().turnId());
            body.put("model", route.model());
            body.put("message", SessionJson.message(message));
            body.put("finish_reason", recorder.finishReason());
            body.put("citations", cited.stream().map(TurnStreams::citation).toList());
            body.put("usage", Map.of("tokens_in", recorder.usage().promptTokens(),
                "tokens_out", recorder.usage().completionTokens()));
            return body;
          });
        })
        .thenCompose(stage -> stage);
    return onSuccess(Asks.mapped(answer), JsonRoutes::json);
  }

  private Route replay(String sessionId, ChatSession.Replay replay, boolean stream) {
    SessionState.Message answer = replay.assistantMessage();
    if (!stream) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("session_id", sessionId);
      body.put("turn_id", replay.turn().turnId());
      body.put("replayed", true);
      body.put("message", SessionJson.message(answer));
      body.put("usage", Map.of("tokens_in", replay.userMessage().tokens(), "tokens_out", answer.tokens()));
      return JsonRoutes.json(body);
    }
    Map<String, Object> done = new LinkedHashMap<>();
    done.put("message_id", answer.id());
    done.put("finish_reason", answer.interrupted() ? "interrupted" : "stop");
    List<ByteString> events = List.of(
        Sse.event("message.start", start(sessionId, replay.turn(), replay.turn().model(), true)),
        Sse.event("delta", Map.of("text", answer.content())),
        Sse.event("usage", Map.of("tokens_in", replay.userMessage().tokens(), "tokens_out", answer.tokens())),
        Sse.event("done", done));
    return complete(Sse.response(Source.from(events)));
  }

  private static Map<String, Object> start(String sessionId, SessionState.Turn turn, String model, boolean replayed) {
    Map<String, Object> start = new LinkedHashMap<>();
    start.put("session_id", sessionId);
    start.put("turn_id", turn.turnId());
    start.put("user_message_id", turn.userMessageId());
    start.put("assistant_message_id", turn.assistantMessageId());
    start.put("model", model);
    if (replayed) {
      start.put("replayed", true);
    }
    return start;
  }

  static ApiError busy(ChatSession.Busy busy) {
    return ApiError.conflict("turn_in_progress",
            "Another turn of this session is in progress; one turn runs at a time.")
        .withHeader(RawHeader.create("Retry-After", Long.toString(busy.retryAfterSeconds())))
        .withExtension("turn_id", busy.turnId());
  }

  /** A provider failure as the client sees it: never our credentials problem, never a 500. */
  static ApiError providerError(Throwable error) {
    Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
        ? error.getCause() : error;
    if (!(cause instanceof ProviderException p)) {
      return new ApiError(StatusCodes.BAD_GATEWAY, "upstream_error", "The model call failed.");
    }
    if (p.status() == 400 || p.status() == 422) {
      return ApiError.badRequest("upstream_rejected", p.getMessage());
    }
    if (p.status() == 429) {
      return new ApiError(StatusCodes.TOO_MANY_REQUESTS, "upstream_rate_limited", p.getMessage());
    }
    if (p.status() == 504) {
      return new ApiError(StatusCodes.GATEWAY_TIMEOUT, p.code(), p.getMessage());
    }
    return new ApiError(StatusCodes.BAD_GATEWAY, p.code(), p.getMessage());
  }

  static void requireModel(SessionsModule module, TenantConfig tenant, String model) {
    if (!tenant.models().models().containsKey(model)) {
      List<String> allowed = module.gateway.models(tenant.id());
      throw ApiError.badRequest("unknown_model", "Unknown model '" + model + "'; this tenant's models are " + allowed)
          .withExtension("param", "model").withExtension("allowed_models", allowed);
    }
  }

  static void checkPromptSize(TenantConfig tenant, int chars) {
    if (chars > tenant.limits().maxPromptChars()) {
      throw ApiError.payloadTooLarge("The prompt has " + chars + " characters; this tenant's limit (max_prompt_chars) is "
          + tenant.limits().maxPromptChars() + ".").withExtension("limit_chars", tenant.limits().maxPromptChars());
    }
  }

  static int limit(Optional<String> value, int defaultValue, int max) {
    if (value.isEmpty()) {
      return defaultValue;
    }
    try {
      int n = Integer.parseInt(value.get());
      if (n < 1 || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw ApiError.badRequest("invalid_parameter", "limit must be a number from 1 to " + max)
          .withExtension("param", "limit");
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
