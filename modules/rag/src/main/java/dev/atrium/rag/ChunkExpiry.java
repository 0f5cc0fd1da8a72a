package dev.atrium.rag;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.ProjectionDatabase;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * The daily job (one per cluster) that deletes expired chunks and the documents whose
 * expiry has passed from the read tables. The admin API can run it at once.
 */
public final class ChunkExpiry {
  private ChunkExpiry() {}

  enum Tick implements JsonSerializable { INSTANCE }

  public record Removed(int chunks, int documents) implements JsonSerializable {}

  public static void init(ActorSystem<?> system) {
    Duration interval = system.settings().config().getDuration("atrium.rag.expiry-interval");
    ClusterSingleton.get(system).init(SingletonActor.of(
        Behaviors.supervise(behavior(system, interval)).onFailure(SupervisorStrategy.restart()), "chunk-expiry"));
  }

  static Behavior<Tick> behavior(ActorSystem<?> system, Duration interval) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, interval, interval);
      return Behaviors.receiveMessage(tick -> {
        runNow(system).whenComplete((removed, error) -> {
          if (error != null) {
            ctx.getLog().warn("chunk expiry failed: {}", error.getMessage());
          } else if (removed.chunks() > 0 || removed.documents() > 0) {
            ctx.getLog().info("chunk expiry removed {} chunks and {} documents", removed.chunks(), removed.documents());
          }
        });
        return Behaviors.same();
      });
    }));
  }

  /** Deletes what has expired, now (system role: across tenants). */
  public static CompletionStage<Removed> runNow(ActorSystem<?> system) {
    return ProjectionDatabase.get(system).systemQuery(dsl -> new Removed(
        dsl.execute("DELETE FROM rag_chunks WHERE expires_at IS NOT NULL AND expires_at <= now()"),
        dsl.execute("DELETE FROM documents WHERE expires_at IS NOT NULL AND expires_at <= now()")));
  }
}
