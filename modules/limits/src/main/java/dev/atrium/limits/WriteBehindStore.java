package dev.atrium.limits;

import java.time.Instant;
import java.util.Optional;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.persistence.state.javadsl.DurableStateUpdateStore;
import org.apache.pekko.persistence.state.javadsl.GetObjectResult;

/**
 * The durable-state store as the write-behind entities of this module ({@link TokenBucket},
 * {@link Budget}) use it: one object per entity, read when the entity starts and written at
 * most once a second while it changes; each answer comes back to the entity as one of its
 * own messages, piped to itself.
 */
final class WriteBehindStore {
  /** The entity's message for a load's answer: the snapshot (none when never written), its revision, or a failure. */
  @FunctionalInterface
  interface LoadedMessage<C, S> {
    C of(Optional<S> snapshot, long revision, String failure);
  }

  /** The entity's message for a write's answer: the revision written at {@code at}, or a failure. */
  @FunctionalInterface
  interface WrittenMessage<C> {
    C of(long revision, Instant at, String failure);
  }

  private final DurableStateUpdateStore<Object> store;
  private final String persistenceId;

  WriteBehindStore(DurableStateUpdateStore<Object> store, String persistenceId) {
    this.store = store;
    this.persistenceId = persistenceId;
  }

  <C, S> void load(ActorContext<C> ctx, Class<S> type, LoadedMessage<C, S> loaded) {
    ctx.pipeToSelf(store.getObject(persistenceId), (GetObjectResult<Object> result, Throwable error) -> error != null
        ? loaded.of(Optional.empty(), 0, String.valueOf(error.getMessage()))
        : loaded.of(result.value().map(type::cast), result.revision(), null));
  }

  <C> void write(ActorContext<C> ctx, long revision, Object snapshot, Instant at, WrittenMessage<C> written) {
    ctx.pipeToSelf(store.upsertObject(persistenceId, revision, snapshot, ""), (done, error) ->
        written.of(revision, at, error == null ? null : String.valueOf(error.getMessage())));
  }

  /**
   * The end of a loading behavior: {@code flush} ticks are ignored, {@code stop} stops (nothing
   * was changed yet), every other command waits in the stash until the entity is loaded.
   */
  static <C> Behavior<C> stashTheRest(BehaviorBuilder<C> builder, Class<? extends C> flush, Class<? extends C> stop,
      StashBuffer<C> stash) {
    return builder
        .onMessage(flush, tick -> Behaviors.same())
        .onMessage(stop, s -> Behaviors.stopped())
        .onAnyMessage(command -> {
          stash.stash(command);
          return Behaviors.same();
        })
        .build();
  }
}
