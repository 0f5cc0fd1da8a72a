package dev.atrium.limits;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.entity.Supervision;
import dev.atrium.core.entity.TenantEntityId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.jdbc.state.javadsl.JdbcDurableStateStore;
import org.apache.pekko.persistence.state.DurableStateStoreRegistry;
import org.apache.pekko.persistence.state.javadsl.DurableStateUpdateStore;

/**
 * One client's token bucket for one route class, sharded by {@code tenantId:clientKey}
 * (clientKey = {@code routeClass/principal}, e.g. {@code chat/key:k_12}). The hot path never
 * touches PostgreSQL: the state lives in memory and is written through the durable-state
 * store at most once a second while it changes, and when the entity stops (passivation or
 * hand-off). After a crash the bucket continues from its last write, so a failure grants at
 * most what was consumed in the second before it. The bucket also holds the leased slots of
 * its client's open streams.
 *
 * <p>A bucket goes through three behaviors: {@link #loading} (commands wait in the stash
 * until the store answers), {@link #active} (serves commands and writes what changed on
 * every {@link Flush}) and {@link #stopping} (writes what changed, then stops).
 */
public final class TokenBucket {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "TokenBucket");
  private static final Duration WRITE_INTERVAL = Duration.ofSeconds(1);
  /** Writes tried when stopping before the bucket gives up and stops (losing at most a second). */
  private static final int STOP_WRITES = 3;
  private static final String NO_SUCH_BUCKET = "No such bucket.";

  // ---- protocol -------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable
      permits Check, AcquireSlot, RenewSlot, HoldSlot, ReleaseSlot, Inspect, Reset, Stop, Loaded, Flush, Written {}

  /** Take {@code tokens}; capacity and rate come with every check, so a changed tenant file applies at once. */
  public record Check(String tenantId, int tokens, int capacity, double refillPerSecond, ActorRef<Verdict> replyTo)
      implements Command {}

  /** Granted under the cap, or when the slot id is held already (its lease is renewed). */
  public record AcquireSlot(String tenantId, String slotId, int cap, Duration lease, ActorRef<SlotVerdict> replyTo)
      implements Command {}

  /** Extends a held slot's lease; a slot no longer held stays free (a stream that ended). */
  public record RenewSlot(String tenantId, String slotId, Duration lease) implements Command {}

  /**
   * Extends a held slot's lease, or takes the slot back, past the cap if need be, when the
   * bucket lost it (a crash between writes, a lease that ran out, an admin reset): its holder
   * (a running run) is still working and must be counted.
   */
  public record HoldSlot(String tenantId, String slotId, Duration lease) implements Command {}

  public record ReleaseSlot(String tenantId, String slotId) implements Command {}

  /** The bucket now; rejected as not found for another tenant or a bucket never used. */
  public record Inspect(String tenantId, ActorRef<Reply<View>> replyTo) implements Command {}

  /** Refill to capacity and drop every slot (admin); rejected as not found for another tenant. */
  public record Reset(String tenantId, ActorRef<Reply<Done>> replyTo) implements Command {}

  /** Passivation and hand-off: write what changed, then stop. */
  public enum Stop implements Command { INSTANCE }

  record Loaded(Optional<Snapshot> snapshot, long revision, String failure) implements Command {}

  enum Flush implements Command { INSTANCE }

  record Written(long revision, Instant at, String failure) implements Command {}

  public record Verdict(boolean allowed, long remaining, long retryAfterSeconds, long resetSeconds, long windowSeconds)
      implements JsonSerializable {}

  public record SlotVerdict(boolean granted, int open) implements JsonSerializable {}

  public record View(String clientKey, double tokens, Integer capacity, Double refillPerSecond, Instant lastRefill,
      Instant lastWrite, int openSlots, long revision) implements JsonSerializable {}

  /** What is written to the durable-state store. */
  public record Snapshot(BucketMath.Level level, Integer capacity, Double refillPerSecond, Map<String, Instant> slots,
      Instant lastWrite) implements JsonSerializable {
    public Snapshot {
      slots = Map.copyOf(slots);
    }
  }

  // ---- wiring ---------------------------------------------------------------------------

  public static void init(ActorSystem<?> system) {
    DurableStateUpdateStore<Object> store = store(system);
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), store, Clock.systemUTC()))
        .withStopMessage(Stop.INSTANCE));
  }

  @SuppressWarnings("unchecked")
  static DurableStateUpdateStore<Object> store(ActorSystem<?> system) {
    return DurableStateStoreRegistry.get(system)
        .getDurableStateStoreFor(JdbcDurableStateStore.class, JdbcDurableStateStore.Identifier());
  }

  /** {@code tenantId:clientKey}; the client key holds ':' itself ({@code chat/key:k_12}). */
  public static String entityId(String tenantId, String clientKey) {
    return new TenantEntityId(tenantId, clientKey).toString();
  }

  public static Behavior<Command> create(String entityId, DurableStateUpdateStore<Object> store, Clock clock) {
    TenantEntityId id = TenantEntityId.parse(entityId);
    String persistenceId = ENTITY_KEY.name() + "|" + entityId;
    return Behaviors.<Command>supervise(Behaviors.setup(ctx -> Behaviors.withStash(10_000, stash ->
            Behaviors.withTimers(timers -> {
              timers.startTimerWithFixedDelay(Flush.INSTANCE, WRITE_INTERVAL);
              return new TokenBucket(ctx, stash, id, persistenceId, store, clock).loading();
            }))))
        .onFailure(Supervision.entityDefault());
  }

  // ---- context (the same in every behavior) ----------------------------------------------

  private final ActorContext<Command> ctx;
  private final StashBuffer<Command> stash;
  private final String tenantId;
  private final String clientKey;
  private final WriteBehindStore store;
  private final Clock clock;

  private TokenBucket(ActorContext<Command> ctx, StashBuffer<Command> stash, TenantEntityId id, String persistenceId,
      DurableStateUpdateStore<Object> store, Clock clock) {
    this.ctx = ctx;
    this.stash = stash;
    this.tenantId = id.tenantId();
    this.clientKey = id.id();
    this.store = new WriteBehindStore(store, persistenceId);
    this.clock = clock;
  }

  // ---- loading: commands wait until the state is read ------------------------------------

  /** Reads the state from the store; until it arrives commands wait in the stash. */
  private Behavior<Command> loading() {
    load();
    return WriteBehindStore.stashTheRest(Behaviors.receive(Command.class).onMessage(Loaded.class, this::onLoaded),
        Flush.class, Stop.class, stash);
  }

  private void load() {
    store.load(ctx, Snapshot.class, Loaded::new);
  }

  private Behavior<Command> onLoaded(Loaded loaded) {
    if (loaded.failure() != null) {
      // The store did not answer: stay loading (callers time out and get the tenant's
      // on_limiter_unavailable) and try again.
      ctx.getLog().warn("bucket {} could not load its state: {}", clientKey, loaded.failure());
      load();
      return Behaviors.same();
    }
    return stash.unstashAll(active(BucketState.loaded(loaded.snapshot(), loaded.revision()), false));
  }

  // ---- active: serve, and write what changed once a second --------------------------------

  /** {@code writing} while a write is on its way to the store: the next waits for it. */
  private Behavior<Command> active(BucketState state, boolean writing) {
    return serving(state, next -> active(next, writing))
        .onMessage(Flush.class, flush -> state.changed() && !writing ? active(write(state), true) : Behaviors.same())
        .onMessage(Written.class, written -> active(onWritten(state, written), false))
        .onMessage(Stop.class, stop -> writing ? awaitingWrite(state, STOP_WRITES) : stopping(state, STOP_WRITES))
        .build();
  }

  // ---- stopping: write what changed (a few tries), then stop -------------------------------

  private Behavior<Command> stopping(BucketState state, int writesLeft) {
    if (!state.changed() || writesLeft == 0) {
      return Behaviors.stopped();
    }
    return awaitingWrite(write(state), writesLeft - 1);
  }

  /**
   * Stopping with a write on its way. Sharding holds back commands once it has sent
   * {@link Stop}; those sent before it are still served, and what they change written.
   */
  private Behavior<Command> awaitingWrite(BucketState state, int writesLeft) {
    return serving(state, next -> awaitingWrite(next, writesLeft))
        .onMessage(Written.class, written -> stopping(onWritten(state, written), writesLeft))
        .onMessage(Flush.class, flush -> Behaviors.same())
        .onMessage(Stop.class, stop -> Behaviors.same())
        .build();
  }

  // ---- commands (active and stopping) ---------------------------------------------------

  /** The commands of a loaded bucket; {@code changed} is the behavior after one that changed the state. */
  private BehaviorBuilder<Command> serving(BucketState state, Function<BucketState, Behavior<Command>> changed) {
    // A handler answers the state it was given when nothing changed: no new behavior then.
    Function<BucketState, Behavior<Command>> next = after -> after == state ? Behaviors.same() : changed.apply(after);
    return Behaviors.receive(Command.class)
        .onMessage(Check.class, check -> next.apply(onCheck(state, check)))
        .onMessage(AcquireSlot.class, acquire -> next.apply(onAcquire(state, acquire)))
        .onMessage(RenewSlot.class, renew -> next.apply(onRenew(state, renew)))
        .onMessage(HoldSlot.class, hold -> next.apply(onHold(state, hold)))
        .onMessage(ReleaseSlot.class, release -> next.apply(onRelease(state, release)))
        .onMessage(Inspect.class, inspect -> next.apply(onInspect(state, inspect)))
        .onMessage(Reset.class, reset -> next.apply(onReset(state, reset)));
  }

  private BucketState onCheck(BucketState state, Check c) {
    if (!tenantId.equals(c.tenantId())) {
      c.replyTo().tell(new Verdict(false, 0, 1, 0, 0));
      return state;
    }
    Instant now = clock.instant();
    BucketMath.Level current = state.level() != null ? state.level() : BucketMath.Level.full(c.capacity(), now);
    BucketMath.Result result = BucketMath.take(current, c.tokens(), now, c.capacity(), c.refillPerSecond());
    c.replyTo().tell(new Verdict(result.allowed(), result.remaining(), result.retryAfterSeconds(), result.resetSeconds(),
        result.windowSeconds()));
    return state.checked(result.level(), c.capacity(), c.refillPerSecond());
  }

  private BucketState onAcquire(BucketState state, AcquireSlot a) {
    if (!tenantId.equals(a.tenantId())) {
      a.replyTo().tell(new SlotVerdict(false, 0));
      return state;
    }
    Instant now = clock.instant();
    Map<String, Instant> open = state.openSlots(now);
    // A holder asking again for its own slot (its answer was lost, it restarted) keeps it.
    if (!open.containsKey(a.slotId()) && open.size() >= a.cap()) {
      a.replyTo().tell(new SlotVerdict(false, open.size()));
      return state;
    }
    BucketState next = state.leased(a.slotId(), now.plus(a.lease()), now);
    a.replyTo().tell(new SlotVerdict(true, next.slots().size()));
    return next;
  }

  private BucketState onRenew(BucketState state, RenewSlot r) {
    return tenantId.equals(r.tenantId()) && state.holds(r.slotId())
        ? state.withSlot(r.slotId(), clock.instant().plus(r.lease()))
        : state;
  }

  private BucketState onHold(BucketState state, HoldSlot h) {
    return tenantId.equals(h.tenantId()) ? state.withSlot(h.slotId(), clock.instant().plus(h.lease())) : state;
  }

  private BucketState onRelease(BucketState state, ReleaseSlot r) {
    return tenantId.equals(r.tenantId()) && state.holds(r.slotId()) ? state.withoutSlot(r.slotId()) : state;
  }

  private BucketState onInspect(BucketState state, Inspect i) {
    if (!tenantId.equals(i.tenantId()) || state.unused()) {
      i.replyTo().tell(Reply.notFound(NO_SUCH_BUCKET));
      return state;
    }
    Instant now = clock.instant();
    BucketMath.Level current = state.levelAt(now);
    i.replyTo().tell(Reply.accepted(new View(clientKey, current == null ? 0 : current.tokens(), state.capacity(),
        state.refillPerSecond(), current == null ? null : current.lastRefill(), state.lastWrite(),
        state.openSlots(now).size(), state.revision())));
    return state;
  }

  private BucketState onReset(BucketState state, Reset r) {
    if (!tenantId.equals(r.tenantId())) {
      r.replyTo().tell(Reply.notFound(NO_SUCH_BUCKET));
      return state;
    }
    r.replyTo().tell(Reply.ok());
    return state.reset(clock.instant());
  }

  // ---- writes ----------------------------------------------------------------------------

  /** Sends the state to the store; {@link Written} tells how it went. */
  private BucketState write(BucketState state) {
    long next = state.revision() + 1;
    Instant at = clock.instant();
    store.write(ctx, next, state.snapshot(at), at, Written::new);
    return state.sent();
  }

  private BucketState onWritten(BucketState state, Written written) {
    if (written.failure() != null) {
      ctx.getLog().warn("bucket {} could not write its state: {}", clientKey, written.failure());
      return state.unwritten();
    }
    return state.written(written.revision(), written.at());
  }
}
