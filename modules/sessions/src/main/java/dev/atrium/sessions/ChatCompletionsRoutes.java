package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.IdempotencyKey;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.Sse;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatResult;
import dev.atrium.gateway.Messages;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Tokens;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * OpenAI's {@code POST /v1/chat/completions}, so official SDKs work unchanged: streaming
 * with OpenAI's framing and {@code stream_options.include_usage}, or one
 * {@code chat.completion}; errors in OpenAI's shape. Standard request fields pass through
 * to the provider. With {@code x-session-id} the call is a turn of that session: the last
 * user message is the new turn and the stored history is the context.
 */
final class ChatCompletionsRoutes {
  /** Request fields passed to the provider as they are. */
  static final Set<String> PASSTHROUGH = Set.of("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop",
      "seed", "response_format", "tools", "tool_choice", "parallel_tool_calls", "presence_penalty", "frequency_penalty",
      "logit_bias", "logprobs", "top_logprobs", "user", "reasoning_effort", "metadata", "n");
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool", "function");

  private final SessionsModule module;

  ChatCompletionsRoutes(SessionsModule module) {
    this.module = module;
  }

  Route route() {
    return path(PathMatchers.segment("v1").slash("chat").slash("completions"), () -> post(() ->
        module.tenants.principal(RouteClass.COMPLETIONS, principal ->
            optionalHeaderValueByName("x-session-id", sessionId ->
                optionalHeaderValueByName(IdempotencyKey.HEADER, idempotencyKey ->
                    JsonRoutes.body(ObjectNode.class, body -> handle(principal, sessionId, idempotencyKey, body)))))));
  }

  private Route handle(Principal principal, Optional<String> sessionId, Optional<String> idempotencyKey, ObjectNode body) {
    TenantConfig tenant = module.tenant(principal);
    IdempotencyKey.checked(idempotencyKey);
    JsonNode modelNode = body.path("model");
    if (!modelNode.isTextual() || modelNode.asText().isBlank()) {
      throw ApiError.badRequest("invalid_request", "you must provide a model parameter").withExtension("param", "model");
    }
    String model = modelNode.asText();
    List<ObjectNode> messages = messages(body.path("messages"));
    ModelGateway.Route route = module.gateway.resolve(principal.tenantId(), model)
        .orElseThrow(() -> new ApiError(StatusCodes.NOT_FOUND, "model_not_found",
            "The model `" + model + "` does not exist or you do not have access to it.")
            .withExtension("param", "model"));
    TurnRoutes.checkPromptSize(tenant, messages.stream().mapToInt(m -> Messages.text(m).length()).sum());
    boolean stream = body.path("stream").asBoolean(false);
    boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
    ObjectNode options = Json.MAPPER.createObjectNode();
    body.properties().forEach(e -> {
      if (PASSTHROUGH.contains(e.getKey())) {
        options.set(e.getKey(), e.getValue());
      }
    });
    Completion completion = new Completion("chatcmpl-" + UUID.randomUUID().toString().replace("-", ""),
        Instant.now().getEpochSecond(), route.model(), stream, includeUsage);
    if (stream) {
      return module.withStreamSlot(principal, RouteClass.COMPLETIONS,
          slot -> dispatch(principal, sessionId, idempotencyKey, route, messages, options, completion, slot));
    }
    return dispatch(principal, sessionId, idempotencyKey, route, messages, options, completion, StreamSlot.UNLIMITED);
  }

  private Route dispatch(Principal principal, Optional<String> sessionId, Optional<String> idempotencyKey,
      ModelGateway.Route route, List<ObjectNode> messages, ObjectNode options, Completion completion, StreamSlot slot) {
    if (sessionId.isPresent()) {
      return sessionTurn(principal, sessionId.get(), idempotencyKey, route, messages, options, completion, slot);
    }
    return stateless(route, messages, options, completion, slot);
  }

  record Completion(String id, long created, String model, boolean stream, boolean includeUsage) {}

  private static List<ObjectNode> messages(JsonNode node) {
    if (!node.isArray() || node.isEmpty()) {
      throw ApiError.badRequest("invalid_request", "messages must be a non-empty array").withExtension("param", "messages");
    }
    List<ObjectNode> messages = new ArrayList<>();
    for (int i = 0; i < node.size(); i++) {
      JsonNode m = node.get(i);
      if (!m.isObject() || !ROLES.contains(m.path("role").asText())) {
        throw ApiError.badRequest("invalid_request", "messages[" + i + "] needs a role, one of " + ROLES)
            .withExtension("param", "messages[" + i + "].role");
      }
      messages.add((ObjectNode) m);
    }
    return messages;
  }

  private Route stateless(ModelGateway.Route route, List<ObjectNode> messages, ObjectNode options, Completion c,
      StreamSlot slot) {
    if (!c.stream()) {
      CompletionStage<ObjectNode> answer = module.gateway.complete(route, messages, options)
          .handle((result, error) -> {
            if (error != null) {
              throw TurnRoutes.providerError(error);
            }
            return completionJson(c, result.message(), result.finishReason(), usage(result, messages));
          });
      return onSuccess(answer, JsonRoutes::json);
    }
    return streamed(module.gateway.stream(route, messages, options), TurnRecorder.stateless(Tokens.countMessages(messages)),
        c, slot);
  }

  /**
   * Streams only once the provider has answered: a failure before the first token is a
   * proper HTTP error (an SDK raises its usual exception), one after it an error chunk.
   */
  private Route streamed(Source<ChatEvent, org.apache.pekko.NotUsed> answer, TurnRecorder recorder, Completion c,
      StreamSlot slot) {
    var head = answer.prefixAndTail(1).runWith(Sink.head(), module.system)
        .handle((first, error) -> {
          if (error != null) {
            slot.release();
            recorder.failed(error);
            recorder.record();
            throw TurnRoutes.providerError(error);
          }
          return Source.from(first.first()).concat(first.second());
        });
    return onSuccess(head, events -> complete(Sse.response(TurnStreams.openAiChunks(events, recorder, c.id(),
        c.created(), c.model(), c.includeUsage(), module.heartbeat, slot))));
  }

  private Route sessionTurn(Principal principal, String sessionId, Optional<String> idempotencyKey,
      ModelGateway.Route route, List<ObjectNode> messages, ObjectNode options, Completion c, StreamSlot slot) {
    ChatSession.Caller caller = SessionsModule.persistentCaller(principal);
    ObjectNode last = messages.get(messages.size() - 1);
    String content = Messages.text(last);
    if (!"user".equals(last.path("role").asText()) || content.isBlank()) {
      throw ApiError.badRequest("invalid_request",
          "with x-session-id the last message must be the user's new message; the session holds the history")
          .withExtension("param", "messages");
    }
    var session = module.session(principal.tenantId(), sessionId);
    var started = module.startTurn(session, caller, content, route.model(), idempotencyKey.orElse(null));
    return onSuccess(Asks.mapped(started).whenComplete((reply, error) -> {
      if (error != null) {
        slot.release();
      }
    }), reply -> {
      if (!(reply instanceof ChatSession.Started)) {
        slot.release();
      }
      if (reply instanceof ChatSession.Busy busy) {
        throw TurnRoutes.busy(busy);
      }
      if (reply instanceof ChatSession.Replay replay) {
        ChatResult result = new ChatResult(replay.assistantMessage().content(),
            Messages.of("assistant", replay.assistantMessage().content()), "stop",
            new ChatEvent.Usage(replay.userMessage().tokens(), replay.assistantMessage().tokens()));
        if (!c.stream()) {
          return JsonRoutes.json(completionJson(c, result.message(), result.finishReason(), result.usage()));
        }
        Source<ChatEvent, org.apache.pekko.NotUsed> events = Source.from(List.of(
            new ChatEvent.Delta(result.content(), null), new ChatEvent.Finish("stop"), result.usage()));
        return complete(Sse.response(TurnStreams.openAiChunks(events, TurnRecorder.stateless(0), c.id(), c.created(),
            c.model(), c.includeUsage(), module.heartbeat, StreamSlot.UNLIMITED)));
      }
      ChatSession.Started turn = (ChatSession.Started) reply;
      List<ObjectNode> context = turn.context().stream().map(m -> Messages.of(m.role(), m.content())).toList();
      TurnRecorder recorder = new TurnRecorder(session, caller, turn.turn().turnId(), Tokens.countMessages(context),
          module.askTimeout, module.leaseRenewal);
      if (c.stream()) {
        return streamed(module.gateway.stream(route, context, options), recorder, c, slot);
      }
      CompletionStage<ObjectNode> answer = module.gateway.complete(route, context, options)
          .handle((result, error) -> {
            if (error != null) {
              recorder.failed(error);
              return recorder.record().<ObjectNode>handle((m, e) -> {
                throw TurnRoutes.providerError(error);
              });
            }
            recorder.observe(new ChatEvent.Delta(result.content(), null));
            if (result.usage() != null) {
              recorder.observe(result.usage());
            }
            recorder.observe(new ChatEvent.Finish(result.finishReason()));
            recorder.completed();
            return recorder.record().thenApply(m ->
                completionJson(c, result.message(), result.finishReason(), recorder.usage()));
          })
          .thenCompose(stage -> stage);
      return onSuccess(Asks.mapped(answer), JsonRoutes::json);
    });
  }

  private static ChatEvent.Usage usage(ChatResult result, List<ObjectNode> messages) {
    return result.usage() != null ? result.usage()
        : new ChatEvent.Usage(Tokens.countMessages(messages), Tokens.count(result.content()));
  }

  static ObjectNode completionJson(Completion c, ObjectNode message, String finishReason, ChatEvent.Usage usage) {
    ObjectNode json = Json.MAPPER.createObjectNode();
    json.put("id", c.id());
    json.put("object", "chat.completion");
    json.put("created", c.created());
    json.put("model", c.model());
    ObjectNode choice = json.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode out = message.deepCopy();
    out.put("role", "assistant");
    if (!out.has("content")) {
      out.putNull("content");
    }
    choice.set("message", out);
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason == null ? "stop" : finishReason);
    json.set("usage", TurnStreams.usageJson(usage));
    return json;
  }
}
