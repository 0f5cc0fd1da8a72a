package dev.atrium.sessions;

import dev.atrium.core.JsonSerializable;
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
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * One chat session of one tenant, the analogue of a Durable Object: sharded across the
 * cluster by {@code tenantId:sessionId}, its history event-sourced in PostgreSQL, so the
 * conversation is there after any restart, on any node.
 */
public final class ChatSession
    extends EventSourcedBehaviorWithEnforcedReplies<ChatSession.Command, ChatSession.Event, ChatSession.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "ChatSession");

  /** Ten tags per planned node; the number never changes once data exists. */
  public static final List<String> TAGS =
      IntStream.range(0, 10).mapToObj(i -> "chat-session-" + i).toList();

  private final String tenantId;
  private final String sessionId;
  private final Clock clock;

  // ---- commands -------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable permits AddMessage, GetSession, CloseSession {
    /** The caller's tenant: a session of another tenant answers "not found". */
    String tenantId();
  }

  public record AddMessage(String tenantId, String role, String content, ActorRef<StatusReply<Message>> replyTo)
      implements Command {}

  public record GetSession(String tenantId, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record CloseSession(String tenantId, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  // ---- events ---------------------------------------------------------------------------

  public sealed interface Event extends JsonSerializable permits Opened, MessageAdded, Closed {}

  public record Opened(String tenantId, String sessionId, Instant at) implements Event {}

  public record MessageAdded(Message message) implements Event {}

  public record Closed(Instant at) implements Event {}

  // ---- state and replies ----------------------------------------------------------------

  public record Message(String id, String role, String content, Instant createdAt) implements JsonSerializable {}

  public record Summary(String sessionId, Instant createdAt, Instant lastActive, List<Message> messages)
      implements JsonSerializable {}

  /** Empty until the first message opens the session; closed sessions serve nothing. */
  public record State(Optional<Instant> createdAt, Instant lastActive, List<Message> messages, boolean closed)
      implements JsonSerializable {
    static final State EMPTY = new State(Optional.empty(), Instant.EPOCH, List.of(), false);

    public State {
      messages = List.copyOf(messages);
    }

    boolean open() {
      return createdAt.isPresent() && !closed;
    }

    State opened(Instant at) {
      return new State(Optional.of(at), at, messages, false);
    }

    State with(Message message) {
      List<Message> next = new ArrayList<>(messages);
      next.add(message);
      return new State(createdAt, message.createdAt(), next, closed);
    }

    State closedAt(Instant at) {
      return new State(createdAt, at, messages, true);
    }
  }

  public static final Set<String> ROLES = Set.of("system", "user", "assistant");

  // ---- wiring ---------------------------------------------------------------------------

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), Clock.systemUTC())));
  }

  /** Entity ids are built server-side from the authenticated tenant; client ids never hold ':'. */
  public static String entityId(String tenantId, String sessionId) {
    if (tenantId.contains(":") || sessionId.contains(":")) {
      throw new IllegalArgumentException("ids never contain ':'");
    }
    return tenantId + ":" + sessionId;
  }

  public static Behavior<Command> create(String entityId, Clock clock) {
    return new ChatSession(entityId, clock);
  }

  private ChatSession(String entityId, Clock clock) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), entityId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    int colon = entityId.indexOf(':');
    this.tenantId = entityId.substring(0, colon);
    this.sessionId = entityId.substring(colon + 1);
    this.clock = clock;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAGS.get(Math.abs(persistenceId().id().hashCode() % TAGS.size())));
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(AddMessage.class, this::onAddMessage)
        .onCommand(GetSession.class, this::onGetSession)
        .onCommand(CloseSession.class, this::onCloseSession)
        .build();
  }

  private boolean foreign(Command command) {
    return !tenantId.equals(command.tenantId());
  }

  private ReplyEffect<Event, State> onAddMessage(State state, AddMessage cmd) {
    if (foreign(cmd) || state.closed()) {
      return Effect().reply(cmd.replyTo(), StatusReply.error("session not found"));
    }
    if (!ROLES.contains(cmd.role())) {
      return Effect().reply(cmd.replyTo(), StatusReply.error("role must be one of " + ROLES));
    }
    Instant now = clock.instant();
    Message message = new Message(UUID.randomUUID().toString(), cmd.role(), cmd.content(), now);
    List<Event> events = state.createdAt().isPresent()
        ? List.of(new MessageAdded(message))
        : List.of(new Opened(tenantId, sessionId, now), new MessageAdded(message));
    return Effect().persist(events).thenReply(cmd.replyTo(), s -> StatusReply.success(message));
  }

  private ReplyEffect<Event, State> onGetSession(State state, GetSession cmd) {
    if (foreign(cmd) || !state.open()) {
      return Effect().reply(cmd.replyTo(), StatusReply.error("session not found"));
    }
    return Effect().reply(cmd.replyTo(),
        StatusReply.success(new Summary(sessionId, state.createdAt().orElseThrow(), state.lastActive(), state.messages())));
  }

  private ReplyEffect<Event, State> onCloseSession(State state, CloseSession cmd) {
    if (foreign(cmd) || !state.open()) {
      return Effect().reply(cmd.replyTo(), StatusReply.error("session not found"));
    }
    return Effect().persist(new Closed(clock.instant())).thenReply(cmd.replyTo(), s -> StatusReply.ack());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Opened.class, (state, e) -> state.opened(e.at()))
        .onEvent(MessageAdded.class, (state, e) -> state.with(e.message()))
        .onEvent(Closed.class, (state, e) -> state.closedAt(e.at()))
        .build();
  }
}
