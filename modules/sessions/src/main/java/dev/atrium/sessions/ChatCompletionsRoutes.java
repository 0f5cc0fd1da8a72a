package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.Sse;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.CompletionChunks;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.OpenAiMessages;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * OpenAI's {@code POST /v1/chat/completions}, so official SDKs work unchanged: streaming
 * with OpenAI's framing and {@code stream_options.include_usage}, or one
 * {@code chat.completion}; errors in OpenAI's shape. Messages reach the provider as the
 * client sent them ({@link OpenAiMessages}), standard request fields pass through. With
 * {@code x-session-id} the call is a turn of that session: the last user message is the new
 * turn and the stored history is the context. {@link ChatDoor} and {@link ChatTurn} run the call; this renders it.
 */
record ChatCompletionsRoutes(ChatDoor door, Duration heartbeat) {
  /** Request fields passed to the provider as they are. */
  static final Set<String> PASSTHROUGH = Set.of("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop",
      "seed", "response_format", "tools", "tool_choice", "parallel_tool_calls", "presence_penalty", "frequency_penalty",
      "logit_bias", "logprobs", "top_logprobs", "user", "reasoning_effort", "metadata", "n");
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool", "function");

  /** One completion's identity in its chunks and its JSON. */
  record Completion(String id, long created, String model, boolean stream, boolean includeUsage) {}

  Route route() {
    return door.route(PathMatchers.segment("v1").slash("chat").slash("completions"), this::handle);
  }

  private Route handle(ChatDoor.Call call) {
    ObjectNode body = call.body();
    JsonNode modelNode = body.path("model");
    if (!modelNode.isTextual() || modelNode.asText().isBlank()) {
      throw ApiError.badRequest("invalid_request", "you must provide a model parameter").withExtension("param", "model");
    }
    String model = modelNode.asText();
    List<ChatMessage> messages = messages(body.path("messages"));
    ModelGateway.Route route = door.resolve(call, model, () -> new ApiError(StatusCodes.NOT_FOUND, "model_not_found",
        "The model `" + model + "` does not exist or you do not have access to it; this tenant's models are "
            + door.turns().gateway().models(call.principal().tenantId()) + ".")
        .withExtension("param", "model"));
    ObjectNode options = Json.MAPPER.createObjectNode();
    body.properties().forEach(e -> {
      if (PASSTHROUGH.contains(e.getKey())) {
        options.set(e.getKey(), e.getValue());
      }
    });
    Completion c = new Completion("chatcmpl-" + UUID.randomUUID().toString().replace("-", ""),
        Instant.now().getEpochSecond(), route.model(), body.path("stream").asBoolean(false),
        body.path("stream_options").path("include_usage").asBoolean(false));
    return door.dispatch(call, route, messages, options, c.stream(), new ChatDoor.Rendering() {
      @Override
      public Route render(ChatTurn turn) {
        return ChatCompletionsRoutes.this.render(call.tenant(), turn, c);
      }

      @Override
      public Route replay(ChatDoor.Replayed replay) {
        return ChatCompletionsRoutes.this.replay(replay, c);
      }
    });
  }

  private static List<ChatMessage> messages(JsonNode node) {
    if (!node.isArray() || node.isEmpty()) {
      throw ApiError.badRequest("invalid_request", "messages must be a non-empty array").withExtension("param", "messages");
    }
    List<ChatMessage> messages = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      JsonNode m = node.get(i);
      if (!m.isObject() || !ROLES.contains(m.path("role").asText())) {
        throw ApiError.badRequest("invalid_request", "messages[" + i + "] needs a role, one of " + ROLES)
            .withExtension("param", "messages[" + i + "].role");
      }
      try {
        messages.add(OpenAiMessages.read(m));
      } catch (IllegalArgumentException e) {
        throw ApiError.badRequest("invalid_request", "messages[" + i + "]: " + e.getMessage())
            .withExtension("param", "messages[" + i + "].cache_control");
      }
    }
    return messages;
  }

  private Route render(TenantConfig tenant, ChatTurn turn, Completion c) {
    if (c.stream()) {
      return streamed(tenant, turn, c);
    }
    return onSuccess(turn.whole(), recorded -> TurnRoutes.says(tenant, turn,
        () -> JsonRoutes.json(completionJson(c, recorded.answer(), recorded.finishReason(), recorded.usage()))));
  }

  /**
   * Streams only once the provider has answered: a failure before the first token is a
   * proper HTTP error (an SDK raises its usual exception), one after it an error chunk.
   */
  private Route streamed(TenantConfig tenant, ChatTurn turn, Completion c) {
    return onSuccess(turn.answered(), events -> TurnRoutes.says(tenant, turn,
        () -> complete(Sse.response(chunks(events, turn::recorded, c)))));
  }

  /** The earlier answer of the same Idempotency-Key, as the same call would have given it. */
  private Route replay(ChatDoor.Replayed replay, Completion c) {
    if (!c.stream()) {
      return JsonRoutes.json(completionJson(c, replay.answer(), "stop", replay.usage()));
    }
    return complete(Sse.response(chunks(replay.events(), replay::recorded, c)));
  }

  /**
   * OpenAI's chunks: the role, the deltas as the upstream sent them (its bytes spliced into
   * this completion's frame, {@link CompletionChunks}), the finish, usage if asked, [DONE].
   */
  private Source<ByteString, NotUsed> chunks(Source<ChatEvent, NotUsed> events,
      Supplier<CompletionStage<ChatTurn.Recorded>> recorded, Completion c) {
    CompletionChunks frames = new CompletionChunks(c.id(), c.created(), c.model());
    Source<ByteString, NotUsed> body = events
        .mapConcat(event -> {
          if (event instanceof ChatEvent.Delta d) {
            // A delta of another protocol's provider carries its tool-call fragments without bytes.
            return d.raw() == null && d.content().isEmpty() && d.toolCalls().isEmpty() ? List.<ByteString>of()
                : List.of(frames.delta(d));
          }
          return event instanceof ChatEvent.Finish f ? List.of(frames.finish(f.reason())) : List.<ByteString>of();
        })
        // [DONE] only once the turn is recorded (a call without a session records nothing).
        .concatLazy(Source.lazyCompletionStage(recorded::get)
            .mapConcat(r -> c.includeUsage() ? List.of(frames.usage(r.usage()), Sse.DONE) : List.of(Sse.DONE))
            .mapMaterializedValue(m -> NotUsed.getInstance()))
        .recover(new PFBuilder<Throwable, ByteString>().match(Throwable.class, error -> {
          Map<String, Object> json = new LinkedHashMap<>(TurnRoutes.errorBody(error));
          json.put("type", "server_error");
          json.put("param", null);
          return Sse.data(Map.of("error", json));
        }).build());
    return Source.single(frames.role()).concat(body).keepAlive(heartbeat, () -> Sse.HEARTBEAT);
  }

  static ObjectNode completionJson(Completion c, ChatMessage answer, String finishReason, ChatEvent.Usage usage) {
    ObjectNode json = head(c, "chat.completion");
    ObjectNode choice = json.putArray("choices").addObject();
    choice.put("index", 0);
    choice.set("message", OpenAiMessages.toJson(answer.withRole("assistant")));
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason == null ? "stop" : finishReason);
    json.set("usage", usageJson(usage));
    return json;
  }

  private static ObjectNode head(Completion c, String object) {
    ObjectNode json = Json.MAPPER.createObjectNode();
    json.put("id", c.id());
    json.put("object", object);
    json.put("created", c.created());
    json.put("model", c.model());
    return json;
  }

  private static ObjectNode usageJson(ChatEvent.Usage usage) {
    ObjectNode json = Json.MAPPER.createObjectNode()
        .put("prompt_tokens", usage.promptTokens())
        .put("completion_tokens", usage.completionTokens())
        .put("total_tokens", usage.promptTokens() + usage.completionTokens());
    if (usage.cachedPromptTokens() > 0) {
      json.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedPromptTokens());
    }
    return json;
  }
}
