package dev.atrium.server;

import dev.atrium.core.db.DatabaseExtension;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/** Readiness: the database answers a query within two seconds. */
public final class DatabaseHealthCheck implements Supplier<CompletionStage<Boolean>> {
  private final ActorSystem system;

  public DatabaseHealthCheck(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    return DatabaseExtension.get(Adapter.toTyped(system)).database().ping()
        .toCompletableFuture()
        .completeOnTimeout(false, Duration.ofSeconds(2).toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(e -> false);
  }
}
