package dev.atrium.sessions;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.TagSlices;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.entity.Supervision;
import dev.atrium.core.entity.TenantEntityId;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.Tier;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.Tokens;
import dev.atrium.sessions.SessionState.Message;
import dev.atrium.sessions.SessionState.Meta;
import dev.atrium.sessions.SessionState.Status;
import dev.atrium.sessions.SessionState.Turn;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandlerBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One chat session of one tenant, the analogue of a Durable Object: sharded by
 * {@code tenantId:sessionId}, event-sourced in PostgreSQL, so the conversation is there
 * after any restart, on any node. It records each turn's user message and lease before
 * the model is called, and the answer (or what was generated before an interruption)
 * after; one turn at a time.
 */
public final class ChatSession
    extends EventSourcedBehaviorWithEnforcedReplies<ChatSession.Command, ChatSession.Event, SessionState> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "ChatSession");

  /** Ten tags per planned node; the number never changes once data exists. */
  public static final TagSlices TAGS = new TagSlices("chat-session", 10);


  /** Retention and leases for one tenant's sessions. */
  public record Policy(int contextWindowTokens, int maxHistoryMessages, Duration idleExpiry, Duration turnLease) {
    public static Policy of(TenantConfig.Sessions sessions, Duration turnLease) {
      return new Policy(sessions.contextWindowTokens(), sessions.maxHistoryMessages(),
          Duration.ofDays(sessions.idleExpiryDays()), turnLease);
    }
  }

  /**
   * The caller on whose behalf a session persists: a PAID key or a PAID user (its owner is
   * the user when there is one, else the key); FREE and anonymous callers are stateless (403).
   */
  public static Caller caller(Principal principal) {
    return Caller.of(principal).filter(c -> principal.tier() == Tier.PAID).orElseThrow(() ->
        dev.atrium.core.http.ApiError.forbidden("sessions_need_paid_key",
            "Chat sessions are stored on the caller's behalf and need a PAID API key or user; FREE requests are stateless."));
  }

  // ---- commands -------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable
      permits Asked, RenewLease, LeaseCheck {}

  /** A command from a caller that gets a reply: refused as not found when the caller may not see the session. */
  sealed interface Asked<R> extends Command permits Create, StartTurn, CompleteTurn, GetSession, GetMessages, CloseSession {
    Caller caller();

    ActorRef<Reply<R>> replyTo();
  }

  /** {@code rag}: turns retrieve passages from the tenant's documents (null: the tenant's default). */
  public record Create(Caller caller, String title, String systemPrompt, String model, Boolean rag,
      ActorRef<Reply<SessionView>> replyTo) implements Asked<SessionView> {
    public Create(Caller caller, String title, String systemPrompt, String model, ActorRef<Reply<SessionView>> replyTo) {
      this(caller, title, systemPrompt, model, null, replyTo);
    }
  }

  /**
   * Records the user's message and a lease on the session's one turn slot. {@code turnId}
   * comes from the caller (null: the entity makes one), so a caller whose ask timed out can
   * end the turn it may have started instead of leaving the session leased.
   */
  public record StartTurn(Caller caller, ChatMessage message, String model, String idempotencyKey, String turnId,
      ActorRef<Reply<TurnReply>> replyTo) implements Asked<TurnReply> {
    public StartTurn(Caller caller, String content, String model, String idempotencyKey,
        ActorRef<Reply<TurnReply>> replyTo) {
      this(caller, ChatMessage.user(content), model, idempotencyKey, null, replyTo);
    }
  }

  /** Sent by the node streaming the turn while it is alive. */
  public record RenewLease(Caller caller, String turnId) implements Command {}

  /**
   * Records the answer; {@code interrupted} when it stopped early, with what was generated.
   * {@code completionTokens} 0: counted here.
   */
  public record CompleteTurn(Caller caller, String turnId, ChatMessage answer, int promptTokens, int completionTokens,
      boolean interrupted, String reason, ActorRef<Reply<Message>> replyTo) implements Asked<Message> {
    public CompleteTurn(Caller caller, String turnId, String content, int promptTokens, int completionTokens,
        boolean interrupted, String reason, ActorRef<Reply<Message>> replyTo) {
      this(caller, turnId, ChatMessage.assistant(content), promptTokens, completionTokens, interrupted, reason, replyTo);
    }
  }

  public record GetSession(Caller caller, ActorRef<Reply<SessionView>> replyTo) implements Asked<SessionView> {}

  public record GetMessages(Caller caller, int limit, String before, ActorRef<Reply<MessagesPage>> replyTo)
      implements Asked<MessagesPage> {}

  public record CloseSession(Caller caller, ActorRef<Reply<Done>> replyTo) implements Asked<Done> {}

  /** The session's own timer: has the turn's lease run out? */
  public record LeaseCheck(String turnId) implements Command {}

  // ---- replies --------------------------------------------------------------------------

  public record SessionView(String sessionId, Meta meta, Instant lastActive, int messageCount, long tokensIn,
      long tokensOut, long droppedMessages, Optional<Turn> inFlight, String status) implements JsonSerializable {}

  public record MessagesPage(List<Message> messages, boolean hasMore) implements JsonSerializable {}

  public sealed interface TurnReply extends JsonSerializable permits Started, Busy, Replay {}

  /**
   * The turn may go ahead: call the model with {@code context} (the system prompt, the
   * history that fits the window, the new message); {@code rag}: the session's retrieval setting.
   */
  public record Started(Turn turn, Message userMessage, List<ChatMessage> context, int promptTokens, Boolean rag)
      implements TurnReply {}

  /** Another turn holds the lease; try again after {@code retryAfterSeconds}. */
  public record Busy(String turnId, long retryAfterSeconds) implements TurnReply {}

  /** The Idempotency-Key names a finished turn: here it is again. */
  public record Replay(Turn turn, Message userMessage, Message assistantMessage) implements TurnReply {}

  // ---- events ---------------------------------------------------------------------------

  public sealed interface Event extends JsonSerializable
      permits Created, TurnStarted, LeaseRenewed, TurnEnded, HistoryTrimmed, Expired, Closed {}

  public record Created(String tenantId, String sessionId, Owner owner, String title, String model,
      String systemPrompt, Instant at, Boolean rag) implements Event {}

  public record TurnStarted(String tenantId, String sessionId, Turn turn, Message userMessage) implements Event {}

  public record LeaseRenewed(String turnId, Instant leaseUntil) implements Event {}

  /** {@code reason}: the model's finish reason, or client_disconnected, provider_failed, lease_expired. */
  public record TurnEnded(String tenantId, String sessionId, String turnId, Message assistantMessage,
      int promptTokens, int completionTokens, String reason) implements Event {}

  /** Older messages dropped to keep the session within max_history_messages. */
  public record HistoryTrimmed(String tenantId, String sessionId, int count) implements Event {}

  public record Expired(String tenantId, String sessionId, Instant at) implements Event {}

  public record Closed(String tenantId, String sessionId, Instant at) implements Event {}

  // ---- wiring ---------------------------------------------------------------------------

  private static final String NOT_FOUND = "No such session.";

  private final String tenantId;
  private final String sessionId;
  private final Clock clock;
  private final Function<String, Policy> policies;
  private final TimerScheduler<Command> timers;

  /**
   * Starts sharding for sessions. Every session reads its tenant's policy from the registry
   * when it handles a command (one shared {@link Policy} per tenant settings, no copy per
   * session), so a changed tenant file applies to sessions already in memory.
   */
  public static void init(ActorSystem<?> system, TenantRegistry tenants) {
    Duration lease = system.settings().config().getDuration("atrium.sessions.turn-lease");
    Map<TenantConfig.Sessions, Policy> shared = new ConcurrentHashMap<>();
    TenantConfig.Sessions defaults = new TenantConfig.Sessions(null, null, null);
    Function<String, Policy> policies = tenant -> shared.computeIfAbsent(
        tenants.byId(tenant).map(TenantConfig::sessions).orElse(defaults), sessions -> Policy.of(sessions, lease));
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY,
        ctx -> create(ctx.getEntityId(), Clock.systemUTC(), policies)));
  }

  /** Entity ids are built server-side from the authenticated tenant; client ids never hold ':'. */
  public static String entityId(String tenantId, String sessionId) {
    return TenantEntityId.of(tenantId, sessionId);
  }

  /** A session with a fixed policy (tests). */
  public static Behavior<Command> create(String entityId, Clock clock, Policy policy) {
    return create(entityId, clock, tenant -> policy);
  }

  static Behavior<Command> create(String entityId, Clock clock, Function<String, Policy> policies) {
    return Behaviors.withTimers(timers -> new ChatSession(entityId, clock, policies, timers));
  }

  private ChatSession(String entityId, Clock clock, Function<String, Policy> policies, TimerScheduler<Command> timers) {
    super(PersistenceId.of(ENTITY_KEY.name(), entityId), Supervision.entityDefault());
    TenantEntityId id = TenantEntityId.parse(entityId);
    this.tenantId = id.tenantId();
    this.sessionId = id.id();
    this.clock = clock;
    this.policies = policies;
    this.timers = timers;
  }

  private Policy policy() {
    return policies.apply(tenantId);
  }

  @Override
  public SessionState emptyState() {
    return SessionState.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAGS.of(persistenceId().id()));
  }

  @Override
  public SignalHandler<SessionState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> state.inFlight().ifPresent(this::scheduleLeaseCheck))
        .build();
  }

  // ---- commands by state ----------------------------------------------------------------

  @Override
  public CommandHandlerWithReply<Command, Event, SessionState> commandHandler() {
    // Every session in memory holds its own handler cases: few cases, few wrappers.
    var builder = newCommandHandlerWithReplyBuilder();
    builder.forState(SessionState::isNew)
        .onCommand(Create.class, this::onCreate)
        .onAnyCommand(this::notFound);
    builder.forState(SessionState::active)
        .onCommand(Create.class, (state, cmd) -> exists(cmd))
        .onCommand(StartTurn.class, fresh(this::onStartTurn))
        .onCommand(RenewLease.class, this::onRenewLease)
        .onCommand(CompleteTurn.class, visible(this::onCompleteTurn))
        .onCommand(GetSession.class, fresh((state, cmd) -> Effect().reply(cmd.replyTo(), Reply.accepted(view(state)))))
        .onCommand(GetMessages.class, fresh(this::onGetMessages))
        .onCommand(CloseSession.class, visible(this::onCloseSession))
        .onCommand(LeaseCheck.class, this::onLeaseCheck);
    builder.forState(SessionState::ended)
        .onCommand(Create.class, (state, cmd) -> exists(cmd))
        .onAnyCommand(this::notFound);
    return builder.build();
  }

  /** Whether the caller may see the session: its tenant always; its owner unless the tenant's admin asks. */
  private boolean visible(SessionState state, Caller caller) {
    return state.meta().map(m -> caller.sees(tenantId, m.owner())).orElse(false);
  }

  /** {@code handler} for callers who may see the session; "not found" for everyone else. */
  private <R, C extends Asked<R>> BiFunction<SessionState, C, ReplyEffect<Event, SessionState>> visible(
      BiFunction<SessionState, C, ReplyEffect<Event, SessionState>> handler) {
    return (state, cmd) -> visible(state, cmd.caller()) ? handler.apply(state, cmd) : notFound(state, cmd);
  }

  /**
   * {@link #visible} and not idle past the tenant's expiry: an expired session is found out
   * on access, the expiry recorded, the caller told "not found".
   */
  private <R, C extends Asked<R>> BiFunction<SessionState, C, ReplyEffect<Event, SessionState>> fresh(
      BiFunction<SessionState, C, ReplyEffect<Event, SessionState>> handler) {
    return (state, cmd) -> {
      if (!visible(state, cmd.caller())) {
        return notFound(state, cmd);
      }
      Instant now = clock.instant();
      if (!idleExpired(state, now)) {
        return handler.apply(state, cmd);
      }
      return Effect().persist(new Expired(tenantId, sessionId, now))
          .thenReply(cmd.replyTo(), s -> Reply.notFound(NOT_FOUND));
    };
  }

  private boolean idleExpired(SessionState state, Instant now) {
    boolean leased = state.inFlight().map(t -> t.leaseUntil().isAfter(now)).orElse(false);
    return !leased && state.lastActive().plus(policy().idleExpiry()).isBefore(now);
  }

  /** "Not found" to a caller who asked; nothing to a lease renewal or check of a session that is gone. */
  private ReplyEffect<Event, SessionState> notFound(SessionState state, Command command) {
    return command instanceof Asked<?> asked ? Effect().reply(asked.replyTo(), Reply.notFound(NOT_FOUND))
        : Effect().noReply();
  }

  private ReplyEffect<Event, SessionState> exists(Create cmd) {
    return tenantId.equals(cmd.caller().tenantId())
        ? Effect().reply(cmd.replyTo(), Reply.conflict("session_exists", "The session exists already."))
        : Effect().reply(cmd.replyTo(), Reply.notFound(NOT_FOUND));
  }

  private ReplyEffect<Event, SessionState> onCreate(SessionState state, Create cmd) {
    // An admin sees sessions but creates none: a session always has an owner.
    if (!tenantId.equals(cmd.caller().tenantId()) || cmd.caller().admin()) {
      return Effect().reply(cmd.replyTo(), Reply.notFound(NOT_FOUND));
    }
    Created created = new Created(tenantId, sessionId, cmd.caller().owner(), cmd.title(), cmd.model(),
        cmd.systemPrompt(), clock.instant(), cmd.rag());
    return Effect().persist(created).thenReply(cmd.replyTo(), s -> Reply.accepted(view(s)));
  }

  /**
   * An Idempotency-Key that names an earlier turn answers that turn (busy while it runs);
   * a live lease makes the session busy; an expired one is taken over; then the turn starts.
   */
  private ReplyEffect<Event, SessionState> onStartTurn(SessionState state, StartTurn cmd) {
    Instant now = clock.instant();
    return replay(state, cmd, now)
        .or(() -> state.inFlight().filter(t -> t.leaseUntil().isAfter(now))
            .map(current -> Effect().reply(cmd.replyTo(), Reply.accepted(busy(current, now)))))
        .orElseGet(() -> startTurn(state, cmd, now));
  }

  /** The earlier turn of the same Idempotency-Key: running (busy) or finished (its answer again). */
  private Optional<ReplyEffect<Event, SessionState>> replay(SessionState state, StartTurn cmd, Instant now) {
    if (cmd.idempotencyKey() == null) {
      return Optional.empty();
    }
    return state.turnForKey(cmd.idempotencyKey()).flatMap(turnId -> {
      Optional<Turn> running = state.inFlight().filter(t -> t.turnId().equals(turnId));
      if (running.isPresent()) {
        return Optional.of(Effect().reply(cmd.replyTo(), Reply.<TurnReply>accepted(busy(running.get(), now))));
      }
      Optional<Message> user = state.message(turnId, "user");
      Optional<Message> answer = state.message(turnId, "assistant");
      if (user.isEmpty() || answer.isEmpty()) {
        return Optional.empty();
      }
      Turn turn = new Turn(turnId, user.get().id(), answer.get().id(), null, user.get().createdAt(),
          answer.get().createdAt(), cmd.idempotencyKey());
      return Optional.of(Effect().reply(cmd.replyTo(), Reply.<TurnReply>accepted(new Replay(turn, user.get(), answer.get()))));
    });
  }

  private ReplyEffect<Event, SessionState> startTurn(SessionState state, StartTurn cmd, Instant now) {
    List<Event> events = new ArrayList<>(3);
    state.inFlight().ifPresent(expired -> events.add(leaseExpired(expired, now)));
    String model = cmd.model() != null ? cmd.model() : state.meta().map(Meta::model).orElse(null);
    String turnId = cmd.turnId() != null ? cmd.turnId() : newId();
    Turn turn = new Turn(turnId, newId(), newId(), model, now, now.plus(policy().turnLease()), cmd.idempotencyKey());
    ChatMessage message = cmd.message().withRole("user");
    Message user = new Message(turn.userMessageId(), message, now, Tokens.count(message.content()), false, turnId);
    events.add(new TurnStarted(tenantId, sessionId, turn, user));
    trim(events, state.messages().size() + events.size());
    return Effect().persist(events)
        .thenRun(s -> scheduleLeaseCheck(turn))
        .thenReply(cmd.replyTo(), s -> {
          SessionState.Context context = s.context(policy().contextWindowTokens());
          return Reply.accepted(new Started(turn, user, context.messages(), context.promptTokens(),
              s.meta().map(Meta::rag).orElse(null)));
        });
  }

  private static Busy busy(Turn turn, Instant now) {
    long seconds = (long) Math.ceil(Duration.between(now, turn.leaseUntil()).toMillis() / 1000.0);
    // The lease is an upper bound; most turns end much sooner.
    return new Busy(turn.turnId(), Math.max(1, Math.min(seconds, 5)));
  }

  private TurnEnded leaseExpired(Turn turn, Instant now) {
    Message empty = new Message(turn.assistantMessageId(), ChatMessage.assistant(""), now, 0, true, turn.turnId());
    return new TurnEnded(tenantId, sessionId, turn.turnId(), empty, 0, 0, "lease_expired");
  }

  private void trim(List<Event> events, int sizeAfter) {
    if (sizeAfter > policy().maxHistoryMessages()) {
      events.add(new HistoryTrimmed(tenantId, sessionId, sizeAfter - policy().maxHistoryMessages()));
    }
  }

  private ReplyEffect<Event, SessionState> onRenewLease(SessionState state, RenewLease cmd) {
    boolean current = state.inFlight().filter(t -> t.turnId().equals(cmd.turnId())).isPresent();
    if (!visible(state, cmd.caller()) || !current) {
      return Effect().noReply();
    }
    return Effect().persist(new LeaseRenewed(cmd.turnId(), clock.instant().plus(policy().turnLease())))
        .thenRun(s -> s.inFlight().ifPresent(this::scheduleLeaseCheck))
        .thenNoReply();
  }

  private ReplyEffect<Event, SessionState> onCompleteTurn(SessionState state, CompleteTurn cmd) {
    Optional<Turn> turn = state.inFlight().filter(t -> t.turnId().equals(cmd.turnId()));
    if (turn.isEmpty()) {
      return Effect().reply(cmd.replyTo(), Reply.conflict("turn_not_in_flight", "That turn is no longer in flight."));
    }
    ChatMessage message = cmd.answer().withRole("assistant");
    int tokens = cmd.completionTokens() > 0 ? cmd.completionTokens() : Tokens.count(message.content());
    Message answer = new Message(turn.get().assistantMessageId(), message, clock.instant(), tokens, cmd.interrupted(),
        cmd.turnId());
    List<Event> events = new ArrayList<>(2);
    events.add(new TurnEnded(tenantId, sessionId, cmd.turnId(), answer, cmd.promptTokens(), tokens, cmd.reason()));
    trim(events, state.messages().size() + 1);
    return Effect().persist(events)
        .thenRun(s -> timers.cancel(cmd.turnId()))
        .thenReply(cmd.replyTo(), s -> Reply.accepted(answer));
  }

  private ReplyEffect<Event, SessionState> onLeaseCheck(SessionState state, LeaseCheck cmd) {
    Optional<Turn> turn = state.inFlight().filter(t -> t.turnId().equals(cmd.turnId()));
    Instant now = clock.instant();
    if (turn.isEmpty()) {
      return Effect().noReply();
    }
    if (turn.get().leaseUntil().isAfter(now)) {
      scheduleLeaseCheck(turn.get());
      return Effect().noReply();
    }
    List<Event> events = new ArrayList<>(2);
    events.add(leaseExpired(turn.get(), now));
    trim(events, state.messages().size() + 1);
    return Effect().persist(events).thenNoReply();
  }

  private void scheduleLeaseCheck(Turn turn) {
    Duration wait = Duration.between(clock.instant(), turn.leaseUntil());
    timers.startSingleTimer(turn.turnId(), new LeaseCheck(turn.turnId()),
        wait.isNegative() ? Duration.ZERO : wait.plusMillis(10));
  }

  private ReplyEffect<Event, SessionState> onGetMessages(SessionState state, GetMessages cmd) {
    List<Message> messages = state.messages();
    int end = messages.size();
    if (cmd.before() != null) {
      end = IntStream.range(0, messages.size()).filter(i -> messages.get(i).id().equals(cmd.before()))
          .findFirst().orElse(messages.size());
    }
    int start = Math.max(0, end - cmd.limit());
    return Effect().reply(cmd.replyTo(),
        Reply.accepted(new MessagesPage(List.copyOf(messages.subList(start, end)), start > 0)));
  }

  private ReplyEffect<Event, SessionState> onCloseSession(SessionState state, CloseSession cmd) {
    return Effect().persist(new Closed(tenantId, sessionId, clock.instant()))
        .thenRun(s -> state.inFlight().ifPresent(t -> timers.cancel(t.turnId())))
        .thenReply(cmd.replyTo(), s -> Reply.ok());
  }

  private SessionView view(SessionState s) {
    return new SessionView(sessionId, s.meta().orElse(null), s.lastActive(), s.messages().size(), s.tokensIn(),
        s.tokensOut(), s.droppedMessages(), s.inFlight(), s.status().name().toLowerCase());
  }

  static String newId() {
    return UUID.randomUUID().toString().replace("-", "");
  }

  /**
   * The event handler touches nothing but the state and the event, so every session in
   * memory shares this one (a handler per session would cost each one its cases).
   */
  private static final EventHandler<SessionState, Event> EVENTS = EventHandlerBuilder.<SessionState, Event>builder()
      .forAnyState()
      .onEvent(Created.class, (s, e) -> s.created(new Meta(e.at(), e.owner(), e.title(), e.model(), e.systemPrompt(),
          e.rag(), Tokens.count(e.systemPrompt()))))
      .onEvent(TurnStarted.class, (s, e) -> s.turnStarted(e.turn(), e.userMessage()))
      .onEvent(LeaseRenewed.class, (s, e) -> s.leaseRenewed(e.turnId(), e.leaseUntil()))
      .onEvent(TurnEnded.class, (s, e) -> s.turnEnded(e.assistantMessage(), e.promptTokens(), e.completionTokens()))
      .onEvent(HistoryTrimmed.class, (s, e) -> s.trimmed(e.count()))
      .onEvent(Expired.class, (s, e) -> s.ended(Status.EXPIRED, e.at()))
      .onEvent(Closed.class, (s, e) -> s.ended(Status.CLOSED, e.at()))
      .build();

  @Override
  public EventHandler<SessionState, Event> eventHandler() {
    return EVENTS;
  }
}
