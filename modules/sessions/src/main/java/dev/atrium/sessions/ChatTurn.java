package dev.atrium.sessions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Futures;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.Replies;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.Tokens;
import dev.atrium.gateway.byok.ProviderKey;
import dev.atrium.gateway.cache.CacheDirective;
import dev.atrium.gateway.cache.CacheStatus;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.gateway.usage.UsageStatus;
import dev.atrium.rag.Retriever;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One chat turn, from the session's start to the recorded answer: the one owner of what a
 * turn holds (the session's lease, the stream slot). {@link #begin} asks the session to
 * start the turn and turns its reply into a turn to run, a 409 or a replay; the turn
 * retrieves passages, calls the gateway with the session's context, renews the lease and
 * the slot while the answer is being generated (never once nothing runs it), and ends through one termination hook, {@link #end}: the first
 * ending wins (completion, provider failure, client gone, timeout), releases the slot and
 * records the answer once. Routes only render the framing of {@link #answer} or
 * {@link #whole}. A turn without a session (the OpenAI door without {@code x-session-id})
 * is the same, with nothing to record.
 */
final class ChatTurn {
  private static final Logger LOG = LoggerFactory.getLogger(ChatTurn.class);
  private static final int UNCOUNTED = -1;
  private static final int PASSAGES = 4;

  /** What every turn of the module works with. */
  record Settings(ActorSystem<?> system, ModelGateway gateway, Retriever retriever, TenantRegistry tenants,
      Duration askTimeout, Duration leaseRenewal) {}

  /**
   * A turn of a stored session. {@code rag}: retrieve passages (null: the session's setting,
   * else the tenant's {@code documents.chat_retrieval}); {@code options}: request fields
   * passed to the provider; {@code providerKey}: the caller's own key for this call (never
   * told to the session), or null; {@code cache}: what the client's {@code cache-control}
   * asks of the response cache.
   */
  record Request(Caller caller, String sessionId, ChatMessage message, String model, Boolean rag,
      String idempotencyKey, ObjectNode options, UsageContext usage, ProviderKey providerKey, CacheDirective cache) {}

  /** How a turn ended; the first ending reported is the one recorded. */
  enum Ending { COMPLETED, PROVIDER_FAILED, CLIENT_GONE, TIMED_OUT }

  /** The answer as far as it got: the message, the provider's usage (null if it sent none), why it stopped. */
  record Answer(ChatMessage message, ChatEvent.Usage usage, String finishReason) {
    static final Answer NONE = new Answer(ChatMessage.assistant(""), null, "stop");
  }

  /**
   * The turn as it ended: the stored answer ({@code message}, null without a session), the
   * answer as the provider gave it, usage (the provider's, else counted), the finish reason,
   * and the failure that ended it, if one did.
   */
  record Recorded(SessionState.Message message, ChatMessage answer, ChatEvent.Usage usage, String finishReason,
      Ending ending, Throwable failure) {}

  /** What starting gives a route: a turn to run, or the finished turn of the same Idempotency-Key. */
  sealed interface Begun permits Go, Replayed {}

  record Go(ChatTurn turn) implements Begun {}

  record Replayed(ChatSession.Replay replay) implements Begun {}

  private record Ended(Ending ending, Answer answer, Throwable failure) {}

  private final Settings settings;
  private final EntityRef<ChatSession.Command> session;
  private final Caller caller;
  private final SessionState.Turn turn;
  private final ModelGateway.Route route;
  private final List<ChatMessage> context;
  private final ObjectNode options;
  private final CompletionStage<List<Passage>> passages;
  private final StreamSlot slot;
  /** The model call as it is metered: started with the turn, just before its answer is asked for. */
  private final UsageRecord.Call call;
  /**
   * The prompt's tokens as the session counted them (each message once, when it was added);
   * {@link #UNCOUNTED} without a session, counted only if the provider reports no usage.
   */
  private final int promptTokens;
  private final CompletableFuture<Ended> ending = new CompletableFuture<>();
  private final CompletionStage<Recorded> recorded;

  private ChatTurn(Settings settings, EntityRef<ChatSession.Command> session, Caller caller, SessionState.Turn turn,
      ModelGateway.Route route, List<ChatMessage> context, int promptTokens, ObjectNode options,
      CompletionStage<List<Passage>> passages, StreamSlot slot, UsageContext usage, CacheDirective cache) {
    this.settings = settings;
    this.session = session;
    this.caller = caller;
    this.turn = turn;
    this.route = route;
    this.context = List.copyOf(context);
    this.options = options;
    this.passages = passages;
    this.slot = slot;
    this.promptTokens = promptTokens;
    this.call = UsageRecord.start(usage, UsageRecord.CHAT, route);
    if (promptTokens != UNCOUNTED) {
      call.promptTokens(promptTokens);
    }
    call.cacheDirective(cache);
    this.recorded = ending.thenCompose(this::finish);
  }

  /**
   * Asks the session to start a turn. Busy is a 409 with Retry-After; a finished turn of the
   * same Idempotency-Key is {@link Replayed}; otherwise the turn holds {@code slot} from now
   * on. Whatever else comes of it releases the slot. When the session does not answer in
   * time the turn may still have been recorded: it is ended at once (interrupted, empty) so
   * the session is not left leased until the lease runs out.
   */
  static CompletionStage<Begun> begin(Settings settings, EntityRef<ChatSession.Command> session, Request request,
      StreamSlot slot) {
    String turnId = ChatSession.newId();
    Caller caller = request.caller();
    CompletionStage<Begun> begun = session.<Reply<ChatSession.TurnReply>>ask(
            r -> new ChatSession.StartTurn(caller, request.message(), request.model(), request.idempotencyKey(), turnId,
                r), settings.askTimeout())
        .whenComplete((reply, error) -> {
          if (error != null && Futures.unwrap(error) instanceof TimeoutException) {
            session.tell(new ChatSession.CompleteTurn(caller, turnId, "", 0, 0, true, "start_timed_out",
                settings.system().ignoreRef()));
          }
        })
        .handle((reply, error) -> {
          if (error != null) {
            throw Replies.failure(error, "session");
          }
          return dispatch(settings, session, request, Replies.value(reply), slot);
        });
    return begun.whenComplete((b, error) -> {
      if (!(b instanceof Go)) {
        slot.release();
      }
    });
  }

  private static Begun dispatch(Settings settings, EntityRef<ChatSession.Command> session, Request request,
      ChatSession.TurnReply reply, StreamSlot slot) {
    if (reply instanceof ChatSession.Busy busy) {
      throw ApiError.conflict("turn_in_progress", "Another turn of this session is in progress; one turn runs at a time.")
          .withHeader(RawHeader.create("Retry-After", Long.toString(busy.retryAfterSeconds())))
          .withExtension("turn_id", busy.turnId());
    }
    if (reply instanceof ChatSession.Replay replay) {
      return new Replayed(replay);
    }
    ChatSession.Started started = (ChatSession.Started) reply;
    String tenantId = request.caller().tenantId();
    Optional<ProviderKey> key = Optional.ofNullable(request.providerKey());
    ModelGateway.Route route;
    try {
      route = settings.gateway().resolve(tenantId, started.turn().model(), key)
          .or(() -> settings.gateway().resolve(tenantId, ModelTask.CHAT, null, key)).orElseThrow();
    } catch (ApiError refused) {
      // The caller's key cannot serve the session's model (byok_no_provider): the turn the
      // session started ends at once, empty, instead of holding the session until its lease runs out.
      session.tell(new ChatSession.CompleteTurn(request.caller(), started.turn().turnId(), "", 0, 0, true,
          refused.code(), settings.system().ignoreRef()));
      throw refused;
    }
    UsageContext usage = request.usage().withSession(request.sessionId());
    var passages = passages(settings, usage, request.rag() != null ? request.rag() : started.rag(),
        started.userMessage().content());
    return new Go(new ChatTurn(settings, session, request.caller(), started.turn(), route, started.context(),
        started.promptTokens(), request.options(), passages, slot, usage, request.cache()));
  }

  /** A call without a session: the caller's messages as they are, nothing recorded. */
  static ChatTurn stateless(Settings settings, UsageContext usage, ModelGateway.Route route, List<ChatMessage> messages,
      ObjectNode options, StreamSlot slot, CacheDirective cache) {
    return new ChatTurn(settings, null, null, null, route, messages, UNCOUNTED, options,
        CompletableFuture.completedFuture(List.of()), slot, usage, cache);
  }

  /**
   * Passages when the turn asks for retrieval ({@code rag} null: the tenant's
   * {@code documents.chat_retrieval}). A failed retrieval answers without passages rather
   * than failing the turn. The question's embedding is metered for the turn's {@code usage}.
   */
  private static CompletionStage<List<Passage>> passages(Settings settings, UsageContext usage, Boolean rag,
      String question) {
    String tenantId = usage.tenantId();
    boolean retrieve = rag != null ? rag : settings.tenants().byId(tenantId).orElseThrow().documents().chatRetrieval();
    if (!retrieve) {
      return CompletableFuture.completedFuture(List.of());
    }
    return settings.retriever().retrieve(usage, question, PASSAGES, Retriever.Filters.NONE)
        .thenApply(Retriever::passages)
        .exceptionally(e -> List.of());
  }

  /** The session's turn: its id and message ids (null without a session). */
  SessionState.Turn turn() {
    return turn;
  }

  String turnId() {
    return turn == null ? null : turn.turnId();
  }

  String model() {
    return route.model();
  }

  /** The prompt's tokens as counted before the call: the session's figure, else the messages' own. */
  int countedPromptTokens() {
    return promptTokens != UNCOUNTED ? promptTokens : Tokens.countMessages(context);
  }

  /**
   * The tenant's own provider answered (or is answering) a caller of a tenant that takes
   * provider keys: the call carried none, or the caller's key failed before the first token
   * (5xx, timeout) and the call fell back. Known once the answer's first event is.
   */
  boolean fellBackToTenant(TenantConfig tenant) {
    return tenant.features().byok() && !call.byo();
  }

  /** What the response cache did for the answer: known once its first event is (or the whole answer). */
  CacheStatus cacheStatus() {
    return call.cacheStatus();
  }

  /** The passages the answer is grounded in (empty when the turn does not retrieve). */
  CompletionStage<List<Passage>> passages() {
    return passages;
  }

  /** The end as recorded, once the turn has ended. */
  CompletionStage<Recorded> recorded() {
    return recorded;
  }

  /**
   * The answer as it streams. Cold: the model is called when it is materialised. However
   * the stream ends — complete, failed, cancelled by the client — the turn ends with it.
   */
  Source<ChatEvent, NotUsed> answer() {
    CompletableFuture<List<Passage>> retrieved = passages.toCompletableFuture();
    // Passages already there (no retrieval: every OpenAI-door call) need no substream to wait for them.
    Source<ChatEvent, NotUsed> model = retrieved.isDone() && !retrieved.isCompletedExceptionally()
        ? settings.gateway().stream(route, context, options, retrieved.join(), call)
        : Source.completionStageSource(passages.thenApply(p -> settings.gateway().stream(route, context, options, p, call)))
            .mapMaterializedValue(m -> NotUsed.getInstance());
    return model.via(new Follow(this));
  }

  /**
   * The answer as it streams, once the provider has answered: its first event is in, so a
   * failure before the first token fails the stage with the client's error (a proper HTTP
   * status) and which provider answered is known; the events flow on from there.
   */
  CompletionStage<Source<ChatEvent, NotUsed>> answered() {
    return answer().prefixAndTail(1).runWith(Sink.head(), settings.system())
        .handle((first, error) -> {
          if (error != null) {
            throw providerError(error);
          }
          return Source.from(first.first()).concat(first.second());
        });
  }

  /** The whole answer at once, recorded; a provider failure fails it with the client's error. */
  CompletionStage<Recorded> whole() {
    if (session != null || slot.leased()) {
      Cancellable renewal = settings.system().scheduler().scheduleAtFixedRate(settings.leaseRenewal(),
          settings.leaseRenewal(), this::renew, settings.system().executionContext());
      recorded.whenComplete((r, error) -> renewal.cancel());
    }
    passages.thenCompose(p -> settings.gateway().complete(route, context, options, p, call))
        .whenComplete((result, error) -> {
          if (error == null) {
            end(Ending.COMPLETED, new Answer(result.message(), result.usage(), result.finishReason()), null);
          } else {
            end(endingFor(error), Answer.NONE, error);
          }
        });
    return recorded.thenApply(r -> {
      if (r.failure() != null) {
        throw providerError(r.failure());
      }
      return r;
    });
  }

  /** The termination hook: the first call ends the turn, later ones change nothing. */
  private void end(Ending how, Answer answer, Throwable failure) {
    ending.complete(new Ended(how, answer, failure));
  }

  /** Renews the session's lease and the stream slot: while the answer is being generated. */
  private void renew() {
    if (session != null) {
      session.tell(new ChatSession.RenewLease(caller, turn.turnId()));
    }
    slot.renewIfDue();
  }

  /**
   * Runs once: frees what the turn held, meters the model call (the provider's usage, else
   * counted: a stream the client left is metered for what was generated) and records the
   * answer (interrupted unless it completed).
   */
  private CompletionStage<Recorded> finish(Ended ended) {
    slot.release();
    Answer answer = ended.answer();
    ChatEvent.Usage usage = answer.usage() != null ? answer.usage()
        : new ChatEvent.Usage(promptTokens != UNCOUNTED ? promptTokens : Tokens.countMessages(context),
            Tokens.count(answer.message().content()));
    String reason = switch (ended.ending()) {
      case COMPLETED -> answer.finishReason();
      case PROVIDER_FAILED -> Futures.unwrap(ended.failure()) instanceof ProviderException ? "provider_failed"
          : Futures.unwrap(ended.failure()) instanceof ApiError refused ? refused.code() : "failed";
      case CLIENT_GONE -> "client_disconnected";
      case TIMED_OUT -> "timed_out";
    };
    UsageStatus status = switch (ended.ending()) {
      case COMPLETED -> UsageStatus.OK;
      case PROVIDER_FAILED -> UsageStatus.FAILED;
      case CLIENT_GONE -> UsageStatus.CANCELLED;
      case TIMED_OUT -> UsageStatus.TIMED_OUT;
    };
    if (call.attempted()) {
      settings.gateway().usage().record(call.end(status, usage, answer.usage() == null));
    } else {
      // Refused before any provider was asked (its budget), or the client left first: no model call.
      settings.gateway().abandoned(call);
    }
    if (session == null) {
      return CompletableFuture.completedFuture(
          new Recorded(null, answer.message(), usage, reason, ended.ending(), ended.failure()));
    }
    boolean interrupted = ended.ending() != Ending.COMPLETED;
    return session.<Reply<SessionState.Message>>ask(r -> new ChatSession.CompleteTurn(caller, turn.turnId(), answer.message(),
            usage.promptTokens(), usage.completionTokens(), interrupted, reason, r), settings.askTimeout())
        .handle((reply, error) -> {
          if (error != null || reply instanceof Reply.Rejected) {
            LOG.warn("turn {} could not be recorded: {}", turn.turnId(), error != null ? error.getMessage() : reply);
          }
          if (error != null) {
            throw Replies.failure(error, "session");
          }
          return new Recorded(Replies.value(reply), answer.message(), usage, reason, ended.ending(), ended.failure());
        });
  }

  static Ending endingFor(Throwable error) {
    Throwable cause = Futures.unwrap(error);
    boolean timeout = cause instanceof TimeoutException || cause instanceof ProviderException p && p.status() == 504;
    return timeout ? Ending.TIMED_OUT : Ending.PROVIDER_FAILED;
  }

  /** A provider failure as the client sees it: never our credentials problem, never a 500. */
  static ApiError providerError(Throwable error) {
    if (Futures.unwrap(error) instanceof ApiError refused) {
      // Refused by the gateway before any provider was asked (budget_exceeded): the client's answer as it is.
      return refused;
    }
    if (!(Futures.unwrap(error) instanceof ProviderException p)) {
      return new ApiError(StatusCodes.BAD_GATEWAY, "upstream_error", "The model call failed.");
    }
    if (p.code().equals("provider_key_rejected")) {
      return new ApiError(p.status() == 403 ? StatusCodes.FORBIDDEN : StatusCodes.UNAUTHORIZED, p.code(), p.getMessage());
    }
    if (p.status() == 400 || p.status() == 422) {
      // A parameter the route's provider has no place for is the client's to drop: its code says so.
      return ApiError.badRequest(p.code().equals("unsupported_parameter") ? p.code() : "upstream_rejected", p.getMessage());
    }
    if (p.status() == 429) {
      return new ApiError(StatusCodes.TOO_MANY_REQUESTS, "upstream_rate_limited", p.getMessage());
    }
    if (p.status() == 504) {
      return new ApiError(StatusCodes.GATEWAY_TIMEOUT, p.code(), p.getMessage());
    }
    return new ApiError(StatusCodes.BAD_GATEWAY, p.code(), p.getMessage());
  }

  /**
   * Passes the answer's events through and gathers the answer from them; its end is the
   * turn's end. Its state is its own materialisation's, touched by one thread at a time,
   * as a graph stage's always is.
   */
  private static final class Follow extends GraphStage<FlowShape<ChatEvent, ChatEvent>> {
    private final Inlet<ChatEvent> in = Inlet.create("ChatTurn.in");
    private final Outlet<ChatEvent> out = Outlet.create("ChatTurn.out");
    private final FlowShape<ChatEvent, ChatEvent> shape = FlowShape.of(in, out);
    private final ChatTurn turn;

    Follow(ChatTurn turn) {
      this.turn = turn;
    }

    @Override
    public FlowShape<ChatEvent, ChatEvent> shape() {
      return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new TimerGraphStageLogic(shape) {
        private final StringBuilder text = new StringBuilder();
        private boolean answering;
        private ChatEvent.Usage usage;
        private String finishReason = "stop";

        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              ChatEvent event = grab(in);
              if (event instanceof ChatEvent.Delta delta) {
                if (!answering) {
                  answering = true;
                  turn.call.firstToken();
                }
                text.append(delta.content());
              } else if (event instanceof ChatEvent.Usage u) {
                usage = u;
              } else if (event instanceof ChatEvent.Finish f) {
                finishReason = f.reason();
              }
              push(out, event);
            }

            @Override
            public void onUpstreamFinish() {
              turn.end(Ending.COMPLETED, answer(), null);
              completeStage();
            }

            @Override
            public void onUpstreamFailure(Throwable error) {
              turn.end(endingFor(error), answer(), error);
              failStage(error);
            }
          });
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {
              pull(in);
            }

            @Override
            public void onDownstreamFinish(Throwable cause) {
              turn.end(Ending.CLIENT_GONE, answer(), null);
              cancelStage(cause);
            }
          });
        }

        @Override
        public void preStart() {
          Duration every = turn.settings.leaseRenewal();
          scheduleWithFixedDelay("renew", every, every);
        }

        @Override
        public void onTimer(Object key) {
          turn.renew();
        }

        private Answer answer() {
          return new Answer(ChatMessage.assistant(text.toString()), usage, finishReason);
        }

        @Override
        public void postStop() {
          // Stopped without any of the above (its materializer shut down): the client is gone.
          turn.end(Ending.CLIENT_GONE, answer(), null);
        }
      };
    }
  }
}
