package dev.atrium.rag;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.TagSlices;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.entity.Supervision;
import dev.atrium.core.entity.TenantEntityId;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * One document of one tenant, sharded by {@code tenantId:docId}: its current version,
 * source, metadata and chunks (text, position, heading path, text hash). One writer per
 * document keeps replace and delete in order; the vectors projection turns its events into
 * rows of {@code documents} and {@code rag_chunks}.
 */
public final class Document
    extends EventSourcedBehaviorWithEnforcedReplies<Document.Command, Document.Event, Document.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Document");
  public static final TagSlices TAGS = new TagSlices("document", 10);
  static final String NO_SUCH_DOCUMENT = "No such document.";

  public sealed interface Command extends JsonSerializable permits Replace, Delete, Get {}

  /**
   * A new version. {@code ingestId} and {@code contentHash} make it idempotent: the same
   * content from the same ingest run (a retried step) does not make another version.
   */
  public record Replace(String tenantId, String ingestId, String source, String contentType, JsonNode metadata,
      Instant expiresAt, String embedder, List<Chunker.Chunk> chunks, String contentHash,
      ActorRef<Reply<View>> replyTo) implements Command {}

  public record Delete(String tenantId, ActorRef<Reply<Done>> replyTo) implements Command {}

  public record Get(String tenantId, ActorRef<Reply<View>> replyTo) implements Command {}

  public sealed interface Event extends JsonSerializable permits Versioned, Deleted {
    String tenantId();

    String docId();
  }

  public record Versioned(String tenantId, String docId, int version, String ingestId, String source,
      String contentType, JsonNode metadata, Instant expiresAt, String embedder, List<Chunker.Chunk> chunks,
      String contentHash, Instant at, Instant createdAt) implements Event {}

  public record Deleted(String tenantId, String docId, Instant at) implements Event {}

  public record State(Optional<Versioned> current, int lastVersion) implements JsonSerializable {
    static final State EMPTY = new State(Optional.empty(), 0);
  }

  public record View(String docId, int version, String source, String contentType, JsonNode metadata,
      Instant expiresAt, String embedder, int chunkCount, Instant createdAt, Instant updatedAt)
      implements JsonSerializable {
    static View of(Versioned v) {
      return new View(v.docId(), v.version(), v.source(), v.contentType(), v.metadata(), v.expiresAt(), v.embedder(),
          v.chunks().size(), v.createdAt(), v.at());
    }
  }

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), Clock.systemUTC())));
  }

  public static String entityId(String tenantId, String docId) {
    return TenantEntityId.of(tenantId, docId);
  }

  public static Behavior<Command> create(String entityId, Clock clock) {
    return new Document(entityId, clock);
  }

  private final String tenantId;
  private final String docId;
  private final Clock clock;

  private Document(String entityId, Clock clock) {
    super(PersistenceId.of(ENTITY_KEY.name(), entityId), Supervision.entityDefault());
    TenantEntityId id = TenantEntityId.parse(entityId);
    this.tenantId = id.tenantId();
    this.docId = id.id();
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
    return Set.of(TAGS.of(persistenceId().id()));
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Replace.class, this::onReplace)
        .onCommand(Delete.class, this::onDelete)
        .onCommand(Get.class, (state, cmd) -> !tenantId.equals(cmd.tenantId()) || state.current().isEmpty()
            ? Effect().reply(cmd.replyTo(), Reply.notFound(NO_SUCH_DOCUMENT))
            : Effect().reply(cmd.replyTo(), Reply.accepted(View.of(state.current().get()))))
        .build();
  }

  private ReplyEffect<Event, State> onReplace(State state, Replace cmd) {
    if (!tenantId.equals(cmd.tenantId())) {
      return Effect().reply(cmd.replyTo(), Reply.notFound(NO_SUCH_DOCUMENT));
    }
    Optional<Versioned> current = state.current();
    if (current.isPresent() && current.get().contentHash().equals(cmd.contentHash())
        && current.get().ingestId().equals(cmd.ingestId())) {
      return Effect().reply(cmd.replyTo(), Reply.accepted(View.of(current.get())));
    }
    Instant now = clock.instant();
    Versioned versioned = new Versioned(tenantId, docId, state.lastVersion() + 1, cmd.ingestId(), cmd.source(),
        cmd.contentType(), cmd.metadata(), cmd.expiresAt(), cmd.embedder(), List.copyOf(cmd.chunks()),
        cmd.contentHash(), now, current.map(Versioned::createdAt).orElse(now));
    return Effect().persist(versioned).thenReply(cmd.replyTo(), s -> Reply.accepted(View.of(versioned)));
  }

  private ReplyEffect<Event, State> onDelete(State state, Delete cmd) {
    if (!tenantId.equals(cmd.tenantId()) || state.current().isEmpty()) {
      return Effect().reply(cmd.replyTo(), Reply.notFound(NO_SUCH_DOCUMENT));
    }
    return Effect().persist(new Deleted(tenantId, docId, clock.instant())).thenReply(cmd.replyTo(), s -> Reply.ok());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Versioned.class, (s, e) -> new State(Optional.of(e), e.version()))
        .onEvent(Deleted.class, (s, e) -> new State(Optional.empty(), s.lastVersion()))
        .build();
  }
}
