package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.ErrorResponses;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.Sse;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.anthropic.AnthropicRequests;
import dev.atrium.gateway.anthropic.AnthropicResponses;
import dev.atrium.gateway.anthropic.AnthropicStream;
import java.time.Duration;
import java.util.Map;
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
 * Anthropic's {@code POST /v1/messages} and {@code /v1/messages/count_tokens}, so the official
 * Anthropic SDKs work unchanged against any of the tenant's models: the request is
 * translated to the canonical form ({@link AnthropicRequests}), the call runs as on the
 * OpenAI door ({@link ChatDoor}: stateless, or with {@code x-session-id} a turn of that
 * session; Idempotency-Key replays), and the answer is written as Anthropic's events
 * ({@link AnthropicStream}) or one {@code message} ({@link AnthropicResponses}). Errors are in
 * Anthropic's shape on these paths for every status (the edge's {@code ErrorShape.ANTHROPIC}).
 */
record MessagesRoutes(ChatDoor door, Duration heartbeat) {

  Route route() {
    return concat(
        door.route(PathMatchers.segment("v1").slash("messages"), this::message),
        door.route(PathMatchers.segment("v1").slash("messages").slash("count_tokens"), this::countTokens));
  }

  private Route message(ChatDoor.Call call) {
    AnthropicRequests.Translated request = AnthropicRequests.message(call.body());
    ModelGateway.Route route = door.resolve(call, request.model(), () -> unknownModel(call, request.model()));
    String id = AnthropicResponses.newId();
    return door.dispatch(call, route, request.messages(), request.options(), request.stream(), new ChatDoor.Rendering() {
      @Override
      public Route render(ChatTurn turn) {
        return request.stream() ? streamed(call.tenant(), turn, id, request) : whole(call.tenant(), turn, id);
      }

      @Override
      public Route replay(ChatDoor.Replayed replay) {
        return MessagesRoutes.this.replay(replay, id, route.model(), request.stream());
      }
    });
  }

  /** What the call would cost as prompt tokens, counted here: no model is called, nothing is metered. */
  private Route countTokens(ChatDoor.Call call) {
    AnthropicRequests.Translated request = AnthropicRequests.countTokens(call.body());
    door.resolve(call, request.model(), () -> unknownModel(call, request.model()));
    return JsonRoutes.json(Map.of("input_tokens", request.inputTokens()));
  }

  /** Anthropic's own words ("model: <name>"), and the models the caller may name instead. */
  private ApiError unknownModel(ChatDoor.Call call, String model) {
    return new ApiError(StatusCodes.NOT_FOUND, "model_not_found", "model: " + model + " (this tenant's models are "
        + door.turns().gateway().models(call.principal().tenantId()) + ")")
        .withExtension("param", "model");
  }

  private Route whole(TenantConfig tenant, ChatTurn turn, String id) {
    return onSuccess(turn.whole(), recorded -> TurnRoutes.says(tenant, turn, () -> JsonRoutes.json(
        AnthropicResponses.message(id, turn.model(), recorded.answer(), recorded.finishReason(), recorded.usage()))));
  }

  /**
   * Streams only once the provider has answered: a failure before the first token is a
   * proper HTTP error in Anthropic's shape (an SDK raises its usual exception), one after it
   * an {@code error} event.
   */
  private Route streamed(TenantConfig tenant, ChatTurn turn, String id, AnthropicRequests.Translated request) {
    // The session's count of its context, else the messages'; the tools are the request's either way.
    int input = turn.countedPromptTokens() + request.toolTokens();
    return onSuccess(turn.answered(), events -> TurnRoutes.says(tenant, turn, () -> complete(Sse.response(
        frames(events, turn::recorded, new AnthropicStream(id, turn.model(), input))))));
  }

  /** The earlier answer of the same Idempotency-Key, as the same call would have given it. */
  private Route replay(ChatDoor.Replayed replay, String id, String model, boolean stream) {
    if (!stream) {
      return JsonRoutes.json(AnthropicResponses.message(id, model, replay.answer(), "stop", replay.usage()));
    }
    return complete(Sse.response(frames(replay.events(), replay::recorded,
        new AnthropicStream(id, model, replay.usage().promptTokens()))));
  }

  /**
   * Anthropic's events: the start, the blocks as the deltas come, and once the turn is
   * recorded its stop reason and usage; a failure after the start is an {@code error} event
   * that ends the stream. Pings are the heartbeat.
   */
  private Source<ByteString, NotUsed> frames(Source<ChatEvent, NotUsed> events,
      Supplier<CompletionStage<ChatTurn.Recorded>> recorded, AnthropicStream stream) {
    Source<ByteString, NotUsed> body = events
        .mapConcat(stream::frames)
        .concatLazy(Source.lazyCompletionStage(recorded::get)
            .mapConcat(r -> stream.end(r.finishReason(), r.usage()))
            .mapMaterializedValue(m -> NotUsed.getInstance()))
        .recover(new PFBuilder<Throwable, ByteString>().match(Throwable.class, error -> AnthropicStream.error(
            ErrorResponses.anthropicType(ChatTurn.providerError(error).status().intValue()),
            TurnRoutes.errorBody(error).get("message").toString())).build());
    return Source.single(stream.start()).concat(body).keepAlive(heartbeat, () -> AnthropicStream.PING);
  }
}
