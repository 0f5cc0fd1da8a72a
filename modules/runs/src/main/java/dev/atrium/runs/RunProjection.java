package dev.atrium.runs;

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
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;

/**
 * Feeds {@code runs} from Run events: one projection per tag, as a sharded daemon process,
 * handling events in groups (one transaction per group with its offset, exactly once;
 * {@code pekko.projection.grouped} in persistence.conf).
 */
public final class RunProjection {
  public static final String NAME = "runs";

  private RunProjection() {}

  public static void init(ActorSystem<?> system) {
    ShardedDaemonProcess.get(system).init(ProjectionBehavior.Command.class, NAME, Run.TAGS.count(),
        index -> ProjectionBehavior.create(projection(system, Run.TAGS.tag(index))),
        ShardedDaemonProcessSettings.create(system), Optional.of(ProjectionBehavior.stopMessage()));
  }

  static GroupedProjection<Offset, EventEnvelope<Run.Event>> projection(ActorSystem<?> system, String tag) {
    return JdbcProjection.groupedWithin(
        ProjectionId.of(NAME, tag),
        EventSourcedProvider.<Run.Event>eventsByTag(system, JdbcReadJournal.Identifier(), tag),
        () -> ProjectionDatabase.get(system).session(),
        RunProjectionHandler::new,
        system);
  }
}
