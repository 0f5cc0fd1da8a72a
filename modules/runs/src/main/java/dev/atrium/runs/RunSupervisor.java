package dev.atrium.runs;

import static dev.atrium.runs.RunTables.DEADLINE_AT;
import static dev.atrium.runs.RunTables.RUNS;
import static dev.atrium.runs.RunTables.RUN_ID;
import static dev.atrium.runs.RunTables.STATUS;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.db.ProjectionDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * One per cluster: reads the unfinished runs from the {@code runs} table and wakes them (a
 * run whose node stopped or died continues on its own) and fails those past their deadline
 * (the sweeper). Runs at start and then every {@code atrium.runs.supervisor-interval}.
 */
public final class RunSupervisor {
  private RunSupervisor() {}

  sealed interface Command extends JsonSerializable permits Tick, Found {}

  enum Tick implements Command { INSTANCE }

  record Found(List<Unfinished> runs, String failure) implements Command {}

  record Unfinished(String runId, Instant deadline) implements JsonSerializable {}

  public static void init(ActorSystem<?> system) {
    var config = system.settings().config().getConfig("atrium.runs");
    Duration first = config.getDuration("supervisor-first-scan");
    Duration interval = config.getDuration("supervisor-interval");
    ClusterSingleton.get(system).init(SingletonActor.of(
        Behaviors.supervise(create(system, first, interval)).onFailure(SupervisorStrategy.restart()),
        "run-supervisor"));
  }

  static Behavior<Command> create(ActorSystem<?> system, Duration first, Duration interval) {
    ProjectionDatabase database = ProjectionDatabase.get(system);
    ClusterSharding sharding = ClusterSharding.get(system);
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ctx.setLoggerName(RunSupervisor.class);
      timers.startTimerWithFixedDelay(Tick.INSTANCE, first, interval);
      return Behaviors.receive(Command.class)
          .onMessage(Tick.class, tick -> {
            ctx.pipeToSelf(database.systemQuery(dsl -> dsl.select(RUN_ID, DEADLINE_AT).from(RUNS)
                    .where(STATUS.in("queued", "running"))
                    .orderBy(DEADLINE_AT)
                    .limit(10_000)
                    .fetch(r -> new Unfinished(r.get(RUN_ID), r.get(DEADLINE_AT).toInstant()))),
                (runs, error) -> new Found(runs == null ? List.of() : runs,
                    error == null ? null : String.valueOf(error.getMessage())));
            return Behaviors.same();
          })
          .onMessage(Found.class, found -> {
            if (found.failure() != null) {
              ctx.getLog().warn("run supervisor could not read the runs table: {}", found.failure());
              return Behaviors.same();
            }
            Instant now = Instant.now();
            int expired = 0;
            for (Unfinished run : found.runs()) {
              var entity = sharding.entityRefFor(Run.ENTITY_KEY, run.runId());
              if (run.deadline().isBefore(now)) {
                entity.tell(new Run.Expire("timed out: unfinished at its deadline " + run.deadline()));
                expired++;
              } else {
                entity.tell(Run.Wake.INSTANCE);
              }
            }
            if (!found.runs().isEmpty()) {
              ctx.getLog().info("run supervisor: {} unfinished runs woken, {} past their deadline expired",
                  found.runs().size() - expired, expired);
            }
            return Behaviors.same();
          })
          .build();
    }));
  }

}
