package dev.atrium.sessions;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.TagSlices;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
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
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
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

  public static final String NOT_FOUND = "session not found";
  public static final String EXISTS = "session exists";
  public static final String NOT_IN_FLIGHT = "turn not in flight";
  public static final Set<String> ROLES = Set.of("system", "user", "assistant");

  /** Retention and leases for one tenant's sessions. */
  public record Policy(int contextWindowTokens, int maxHistoryMessages, Duration idleExpiry, Duration turnLease) {
    public static Policy of(TenantConfig.Sessions sessions, Duration turnLease) {
      return new Policy(sessions.contextWindowTokens(), sessions.maxHistoryMessages(),
          Duration.ofDays(sessions.idleExpiryDays()), turnLease);
    }
  }

  /** Who asks: the tenant always; the key id for callers limited to their own sessions, null for admins. */
  public record Caller(String tenantId, String keyId) implements JsonSerializable {
    public static Caller admin(String tenantId) {
      return new Caller(tenantId, null);
    }
  }

  // ---- commands -------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable
      permits Create, StartTurn, RenewLease, CompleteTurn, GetSession, GetMessages, CloseSession, LeaseCheck {}

  /** {@code rag}: turns retrieve passages from the tenant's documents (null: the tenant's default). */
  public record Create(Caller caller, String title, String systemPrompt, String model, Boolean rag,
      ActorRef<StatusReply<SessionView>> replyTo) implements Command {
    public Create(Caller caller, String title, String systemPrompt, String model, ActorRef<StatusReply<SessionView>> replyTo) {
      this(caller, title, systemPrompt, model, null, replyTo);
    }
  }

  /**
   * Records the user's message and a lease on the session's one turn slot. {@code turnId}
   * comes from the caller (null: the entity makes one), so a caller whose ask timed out can
   * end the turn it may have started instead of leaving the session leased.
   */
  public record StartTurn(Caller caller, String content, String model, String idempotencyKey, String turnId,
      ActorRef<StatusReply<TurnReply>> replyTo) implements Command {
    public StartTurn(Caller caller, String content, String model, String idempotencyKey,
        ActorRef<StatusReply<TurnReply>> replyTo) {
      this(caller, content, model, idempotencyKey, null, replyTo);
    }
  }

  /** Sent by the node streaming the turn while it is alive. */
  public record RenewLease(Caller caller, String turnId) implements Command {}

  /** Records the answer; {@code interrupted} when it stopped early, with what was generated. */
  public record CompleteTurn(Caller caller, String turnId, String content, int promptTokens, int completionTokens,
      boolean interrupted, String reason, ActorRef<StatusReply<Message>> replyTo) implements Command {}

  public record GetSession(Caller caller, ActorRef<StatusReply<SessionView>> replyTo) implements Command {}

  public record GetMessages(Caller caller, int limit, String before, ActorRef<StatusReply<MessagesPage>> replyTo)
      implements Command {}

  public record CloseSession(Caller caller, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** The session's own timer: has the turn's lease run out? */
  public record LeaseCheck(String turnId) implements Command {}

  // ---- replies --------------------------------------------------------------------------

  public record SessionView(String sessionId, Meta meta, Instant lastActive, int messageCount, long tokensIn,
      long tokensOut, long droppedMessages, Optional<Turn> inFlight, String status) implements JsonSerializable {}

  public record MessagesPage(List<Message> messages, boolean hasMore) implements JsonSerializable {}

  public record ContextMessage(String role, String content) implements JsonSerializable {}

  public sealed interface TurnReply extends JsonSerializable permits Started, Busy, Replay {}

  /** The turn may go ahead: call the model with {@code context}; {@code rag}: the session's retrieval setting. */
  public record Started(Turn turn, Message userMessage, List<ContextMessage> context, Boolean rag) implements TurnReply {}

  /** Another turn holds the lease; try again after {@code retryAfterSeconds}. */
  public record Busy(String turnId, long retryAfterSeconds) implements TurnReply {}

  /** The Idempotency-Key names a finished turn: here it is again. */
  public record Replay(Turn turn, Message userMessage, Message assistantMessage) implements TurnReply {}

  // ---- events ---------------------------------------------------------------------------

  public sealed interface Event extends JsonSerializable
      permits Created, TurnStarted, LeaseRenewed, TurnEnded, HistoryTrimmed, Expired, Closed {}

  public record Created(String tenantId, String sessionId, String ownerKeyId, String title, String model,
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

  private final String tenantId;
  private final String sessionId;
  private final Clock clock;
  private final Policy policy;
  private final TimerScheduler<Command> timers;

  public static void init(ActorSystem<?> system, TenantRegistry tenants) {
    Duration lease = system.settings().config().getDuration("atrium.sessions.turn-lease");
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> {
      String tenant = ctx.getEntityId().substring(0, ctx.getEntityId().indexOf(':'));
      Policy policy = tenants.byId(tenant).map(t -> Policy.of(t.sessions(), lease))
          .orElseGet(() -> Policy.of(new TenantConfig.Sessions(null, null, null), lease));
      return create(ctx.getEntityId(), Clock.systemUTC(), policy);
    }));
  }

  /** Entity ids are built server-side from the authenticated tenant; client ids never hold ':'. */
  public static String entityId(String tenantId, String sessionId) {
    if (tenantId.contains(":") || sessionId.contains(":")) {
      throw new IllegalArgumentException("ids never contain ':'");
    }
    return tenantId + ":" + sessionId;
  }

  public static Behavior<Command> create(String entityId, Clock clock, Policy policy) {
    return Behaviors.withTimers(timers -> new ChatSession(entityId, clock, policy, timers));
  }

  private ChatSession(String entityId, Clock clock, Policy policy, TimerScheduler<Command> timers) {
    super(PersistenceId.of(ENTITY_KEY.name(), entityId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    int colon = entityId.indexOf(':');
    this.tenantId = entityId.substring(0, colon);
    this.sessionId = entityId.substring(colon + 1);
    this.clock = clock;
    this.policy = policy;
    this.timers = timers;
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

  @Override
  public CommandHandlerWithReply<Command, Event, SessionState> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(StartTurn.class, this::onStartTurn)
        .onCommand(RenewLease.class, this::onRenewLease)
        .onCommand(CompleteTurn.class, this::onCompleteTurn)
        .onCommand(GetSession.class, this::onGetSession)
        .onCommand(GetMessages.class, this::onGetMessages)
        .onCommand(CloseSession.class, this::onCloseSession)
        .onCommand(LeaseCheck.class, this::onLeaseCheck)
        .build();
  }

  private boolean visible(SessionState state, Caller caller) {
    return state.active() && tenantId.equals(caller.tenantId())
        && (caller.keyId() == null || state.meta().map(m -> caller.keyId().equals(m.ownerKeyId())).orElse(false));
  }

  private boolean idleExpired(SessionState state, Instant now) {
    boolean leased = state.inFlight().map(t -> t.leaseUntil().isAfter(now)).orElse(false);
    return state.active() && !leased && state.lastActive().plus(policy.idleExpiry()).isBefore(now);
  }

  private <T> ReplyEffect<Event, SessionState> notFound(ActorRef<StatusReply<T>> replyTo) {
    return Effect().reply(replyTo, StatusReply.error(NOT_FOUND));
  }

  /** Expired sessions are found out on access: the expiry is recorded, the caller gets "not found". */
  private <T> Optional<ReplyEffect<Event, SessionState>> expireIfIdle(SessionState state, ActorRef<StatusReply<T>> replyTo) {
    Instant now = clock.instant();
    if (idleExpired(state, now)) {
      return Optional.of(Effect().persist(new Expired(tenantId, sessionId, now))
          .thenReply(replyTo, s -> StatusReply.error(NOT_FOUND)));
    }
    return Optional.empty();
  }

  private ReplyEffect<Event, SessionState> onCreate(SessionState state, Create cmd) {
    if (!tenantId.equals(cmd.caller().tenantId())) {
      return notFound(cmd.replyTo());
    }
    if (state.status() != Status.NEW) {
      return Effect().reply(cmd.replyTo(), StatusReply.error(EXISTS));
    }
    Created created = new Created(tenantId, sessionId, cmd.caller().keyId(), cmd.title(), cmd.model(),
        cmd.systemPrompt(), clock.instant(), cmd.rag());
    return Effect().persist(created).thenReply(cmd.replyTo(), s -> StatusReply.success(view(s)));
  }

  private ReplyEffect<Event, SessionState> onStartTurn(SessionState state, StartTurn cmd) {
    if (!visible(state, cmd.caller())) {
      return notFound(cmd.replyTo());
    }
    Optional<ReplyEffect<Event, SessionState>> expired = expireIfIdle(state, cmd.replyTo());
    if (expired.isPresent()) {
      return expired.get();
    }
    Instant now = clock.instant();
    if (cmd.idempotencyKey() != null) {
      Optional<String> earlier = state.turnForKey(cmd.idempotencyKey());
      if (earlier.isPresent()) {
        String turnId = earlier.get();
        Optional<Turn> running = state.inFlight().filter(t -> t.turnId().equals(turnId));
        if (running.isPresent()) {
          return Effect().reply(cmd.replyTo(), StatusReply.success(new Busy(turnId, retryAfter(running.get(), now))));
        }
        Optional<Message> user = state.message(turnId, "user");
        Optional<Message> answer = state.message(turnId, "assistant");
        if (user.isPresent() && answer.isPresent()) {
          Turn turn = new Turn(turnId, user.get().id(), answer.get().id(), null, user.get().createdAt(),
              answer.get().createdAt(), cmd.idempotencyKey());
          return Effect().reply(cmd.replyTo(), StatusReply.success(new Replay(turn, user.get(), answer.get())));
        }
      }
    }
    List<Event> events = new ArrayList<>();
    int size = state.messages().size();
    if (state.inFlight().isPresent()) {
      Turn current = state.inFlight().get();
      if (current.leaseUntil().isAfter(now)) {
        return Effect().reply(cmd.replyTo(), StatusReply.success(new Busy(current.turnId(), retryAfter(current, now))));
      }
      events.add(leaseExpired(current, now));
      size++;
    }
    String model = cmd.model() != null ? cmd.model() : state.meta().map(Meta::model).orElse(null);
    String turnId = cmd.turnId() != null ? cmd.turnId() : newId();
    Turn turn = new Turn(turnId, newId(), newId(), model, now, now.plus(policy.turnLease()), cmd.idempotencyKey());
    Message user = new Message(turn.userMessageId(), "user", cmd.content(), now, Tokens.count(cmd.content()), false,
        turn.turnId());
    events.add(new TurnStarted(tenantId, sessionId, turn, user));
    size++;
    trim(events, size);
    return Effect().persist(events)
        .thenRun(s -> scheduleLeaseCheck(turn))
        .thenReply(cmd.replyTo(), s -> StatusReply.success(new Started(turn, user, context(s),
            s.meta().map(Meta::rag).orElse(null))));
  }

  private List<ContextMessage> context(SessionState state) {
    int systemTokens = state.meta().map(Meta::systemPrompt).map(Tokens::count).orElse(0);
    return state.context(policy.contextWindowTokens(), systemTokens).stream()
        .map(m -> new ContextMessage(m.path("role").asText(), m.path("content").asText())).toList();
  }

  private static long retryAfter(Turn turn, Instant now) {
    long seconds = (long) Math.ceil(Duration.between(now, turn.leaseUntil()).toMillis() / 1000.0);
    // The lease is an upper bound; most turns end much sooner.
    return Math.max(1, Math.min(seconds, 5));
  }

  private TurnEnded leaseExpired(Turn turn, Instant now) {
    Message empty = new Message(turn.assistantMessageId(), "assistant", "", now, 0, true, turn.turnId());
    return new TurnEnded(tenantId, sessionId, turn.turnId(), empty, 0, 0, "lease_expired");
  }

  private void trim(List<Event> events, int sizeAfter) {
    if (sizeAfter > policy.maxHistoryMessages()) {
      events.add(new HistoryTrimmed(tenantId, sessionId, sizeAfter - policy.maxHistoryMessages()));
    }
  }

  private ReplyEffect<Event, SessionState> onRenewLease(SessionState state, RenewLease cmd) {
    Optional<Turn> turn = state.inFlight().filter(t -> t.turnId().equals(cmd.turnId()));
    if (!visible(state, cmd.caller()) || turn.isEmpty()) {
      return Effect().noReply();
    }
    Instant until = clock.instant().plus(policy.turnLease());
    return Effect().persist(new LeaseRenewed(cmd.turnId(), until))
        .thenRun(s -> s.inFlight().ifPresent(this::scheduleLeaseCheck))
        .thenNoReply();
  }

  private ReplyEffect<Event, SessionState> onCompleteTurn(SessionState state, CompleteTurn cmd) {
    if (!visible(state, cmd.caller())) {
      return notFound(cmd.replyTo());
    }
    Optional<Turn> turn = state.inFlight().filter(t -> t.turnId().equals(cmd.turnId()));
    if (turn.isEmpty()) {
      return Effect().reply(cmd.replyTo(), StatusReply.error(NOT_IN_FLIGHT));
    }
    int tokens = cmd.completionTokens() > 0 ? cmd.completionTokens() : Tokens.count(cmd.content());
    Message answer = new Message(turn.get().assistantMessageId(), "assistant", cmd.content(), clock.instant(), tokens,
        cmd.interrupted(), cmd.turnId());
    List<Event> events = new ArrayList<>();
    events.add(new TurnEnded(tenantId, sessionId, cmd.turnId(), answer, cmd.promptTokens(), tokens, cmd.reason()));
    trim(events, state.messages().size() + 1);
    timers.cancel(cmd.turnId());
    return Effect().persist(events).thenReply(cmd.replyTo(), s -> StatusReply.success(answer));
  }

  private ReplyEffect<Event, SessionState> onLeaseCheck(SessionState state, LeaseCheck cmd) {
    Optional<Turn> turn = state.inFlight().filter(t -> t.turnId().equals(cmd.turnId()));
    if (turn.isEmpty()) {
      return Effect().noReply();
    }
    Instant now = clock.instant();
    if (turn.get().leaseUntil().isAfter(now)) {
      scheduleLeaseCheck(turn.get());
      return Effect().noReply();
    }
    List<Event> events = new ArrayList<>();
    events.add(leaseExpired(turn.get(), now));
    trim(events, state.messages().size() + 1);
    return Effect().persist(events).thenNoReply();
  }

  private void scheduleLeaseCheck(Turn turn) {
    Duration wait = Duration.between(clock.instant(), turn.leaseUntil());
    timers.startSingleTimer(turn.turnId(), new LeaseCheck(turn.turnId()),
        wait.isNegative() ? Duration.ZERO : wait.plusMillis(10));
  }

  private ReplyEffect<Event, SessionState> onGetSession(SessionState state, GetSession cmd) {
    if (!visible(state, cmd.caller())) {
      return notFound(cmd.replyTo());
    }
    return expireIfIdle(state, cmd.replyTo())
        .orElseGet(() -> Effect().reply(cmd.replyTo(), StatusReply.success(view(state))));
  }

  private ReplyEffect<Event, SessionState> onGetMessages(SessionState state, GetMessages cmd) {
    if (!visible(state, cmd.caller())) {
      return notFound(cmd.replyTo());
    }
    Optional<ReplyEffect<Event, SessionState>> expired = expireIfIdle(state, cmd.replyTo());
    if (expired.isPresent()) {
      return expired.get();
    }
    List<Message> messages = state.messages();
    int end = messages.size();
    if (cmd.before() != null) {
      end = IntStream.range(0, messages.size()).filter(i -> messages.get(i).id().equals(cmd.before()))
          .findFirst().orElse(messages.size());
    }
    int start = Math.max(0, end - cmd.limit());
    return Effect().reply(cmd.replyTo(),
        StatusReply.success(new MessagesPage(List.copyOf(messages.subList(start, end)), start > 0)));
  }

  private ReplyEffect<Event, SessionState> onCloseSession(SessionState state, CloseSession cmd) {
    if (!visible(state, cmd.caller())) {
      return notFound(cmd.replyTo());
    }
    state.inFlight().ifPresent(t -> timers.cancel(t.turnId()));
    return Effect().persist(new Closed(tenantId, sessionId, clock.instant()))
        .thenReply(cmd.replyTo(), s -> StatusReply.ack());
  }

  private SessionView view(SessionState s) {
    return new SessionView(sessionId, s.meta().orElse(null), s.lastActive(), s.messages().size(), s.tokensIn(),
        s.tokensOut(), s.droppedMessages(), s.inFlight(), s.status().name().toLowerCase());
  }

  static String newId() {
    return UUID.randomUUID().toString().replace("-", "");
  }

  @Override
  public EventHandler<SessionState, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Created.class, (s, e) -> s.created(new Meta(e.at(), e.ownerKeyId(), e.title(), e.model(), e.systemPrompt(),
            e.rag())))
        .onEvent(TurnStarted.class, (s, e) -> s.turnStarted(e.turn(), e.userMessage()))
        .onEvent(LeaseRenewed.class, (s, e) -> s.leaseRenewed(e.turnId(), e.leaseUntil()))
        .onEvent(TurnEnded.class, (s, e) -> s.turnEnded(e.assistantMessage(), e.promptTokens(), e.completionTokens()))
        .onEvent(HistoryTrimmed.class, (s, e) -> s.trimmed(e.count()))
        .onEvent(Expired.class, (s, e) -> s.ended(Status.EXPIRED, e.at()))
        .onEvent(Closed.class, (s, e) -> s.ended(Status.CLOSED, e.at()))
        .build();
  }
}
