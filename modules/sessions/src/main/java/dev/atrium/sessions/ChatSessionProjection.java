package dev.atrium.sessions;

import dev.atrium.core.db.ProjectionDatabase;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.GroupedProjection;
import org.apache.pekko.projection.javadsl.SourceProvider;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;

/**
 * Feeds {@code chat_sessions} from ChatSession events: one projection instance per tag,
 * spread over the cluster by sharded daemon process, in groups (one transaction per group,
 * {@code pekko.projection.grouped} in persistence.conf) that write one row change per
 * session and commit the group's offset with them: exactly once, so rebuilding the table
 * from the journal gives the same rows.
 */
public final class ChatSessionProjection {
  public static final String NAME = "chat-sessions";

  private ChatSessionProjection() {}

  public static void init(ActorSystem<?> system) {
    ShardedDaemonProcess.get(system).init(
        ProjectionBehavior.Command.class,
        NAME,
        ChatSession.TAGS.count(),
        index -> ProjectionBehavior.create(projection(system, ChatSession.TAGS.tag(index))),
        ShardedDaemonProcessSettings.create(system),
        Optional.of(ProjectionBehavior.stopMessage()));
  }

  static GroupedProjection<Offset, EventEnvelope<ChatSession.Event>> projection(ActorSystem<?> system, String tag) {
    SourceProvider<Offset, EventEnvelope<ChatSession.Event>> source =
        EventSourcedProvider.eventsByTag(system, JdbcReadJournal.Identifier(), tag);
    return JdbcProjection.groupedWithin(
        ProjectionId.of(NAME, tag),
        source,
        () -> ProjectionDatabase.get(system).session(),
        ChatSessionProjectionHandler::new,
        system);
  }
}
