package dev.atrium.limits;

import dev.atrium.core.JsonSerializable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.jdbc.state.javadsl.JdbcDurableStateStore;
import org.apache.pekko.persistence.state.DurableStateStoreRegistry;
import org.apache.pekko.persistence.state.javadsl.DurableStateUpdateStore;
import org.apache.pekko.persistence.state.javadsl.GetObjectResult;

/**
 * One client's token bucket for one route class, sharded by {@code tenantId:clientKey}
 * (clientKey = {@code routeClass/principal}, e.g. {@code chat/key:k_12}). The hot path never
 * touches PostgreSQL: the state lives in memory and is written through the durable-state
 * store at most once a second while it changes, and when the entity stops (passivation or
 * hand-off). After a crash the bucket continues from its last write, so a failure grants at
 * most what was consumed in the second before it. The bucket also holds the leased slots of
 * its client's open streams.
 */
public final class TokenBucket extends AbstractBehavior<TokenBucket.Command> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "TokenBucket");
  static final String NOT_FOUND = "bucket not found";
  private static final Duration WRITE_INTERVAL = Duration.ofSeconds(1);

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

  public record Inspect(String tenantId, ActorRef<StatusReply<View>> replyTo) implements Command {}

  /** Refill to capacity and drop every slot (admin). */
  public record Reset(String tenantId, ActorRef<StatusReply<Done>> replyTo) implements Command {}

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

  public static String entityId(String tenantId, String clientKey) {
    if (tenantId.contains(":")) {
      throw new IllegalArgumentException("tenant ids never contain ':'");
    }
    return tenantId + ":" + clientKey;
  }

  public static Behavior<Command> create(String entityId, DurableStateUpdateStore<Object> store, Clock clock) {
    return Behaviors.<Command>supervise(Behaviors.setup(ctx -> Behaviors.withStash(10_000, stash ->
            Behaviors.withTimers(timers -> new TokenBucket(ctx, stash, timers, entityId, store, clock)))))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
  }

  // ---- state ----------------------------------------------------------------------------

  private final StashBuffer<Command> stash;
  private final String persistenceId;
  private final String tenantId;
  private final String clientKey;
  private final DurableStateUpdateStore<Object> store;
  private final Clock clock;

  private boolean loaded;
  private BucketMath.Level level;
  private Integer capacity;
  private Double refillPerSecond;
  private final Map<String, Instant> slots = new HashMap<>();
  private Instant lastWrite;
  private long revision;
  private boolean dirty;
  private boolean writing;
  private boolean stopping;
  private int stopWrites;

  private TokenBucket(ActorContext<Command> ctx, StashBuffer<Command> stash, TimerScheduler<Command> timers,
      String entityId, DurableStateUpdateStore<Object> store, Clock clock) {
    super(ctx);
    this.stash = stash;
    this.persistenceId = ENTITY_KEY.name() + "|" + entityId;
    int colon = entityId.indexOf(':');
    this.tenantId = entityId.substring(0, colon);
    this.clientKey = entityId.substring(colon + 1);
    this.store = store;
    this.clock = clock;
    timers.startTimerWithFixedDelay(Flush.INSTANCE, WRITE_INTERVAL);
    load();
  }

  private void load() {
    getContext().pipeToSelf(store.getObject(persistenceId), (GetObjectResult<Object> result, Throwable error) -> error != null
        ? new Loaded(Optional.empty(), 0, String.valueOf(error.getMessage()))
        : new Loaded(result.value().map(Snapshot.class::cast), result.revision(), null));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Loaded.class, this::onLoaded)
        .onMessage(Flush.class, f -> onFlush())
        .onMessage(Written.class, this::onWritten)
        .onMessage(Stop.class, s -> onStop())
        .onMessage(Command.class, this::onCommand)
        .build();
  }

  private Behavior<Command> onLoaded(Loaded loaded) {
    if (loaded.failure() != null) {
      // The store did not answer: stay unloaded (callers time out and get the tenant's
      // on_limiter_unavailable) and try again.
      getContext().getLog().warn("bucket {} could not load its state: {}", clientKey, loaded.failure());
      load();
      return this;
    }
    this.loaded = true;
    this.revision = loaded.revision();
    loaded.snapshot().ifPresent(s -> {
      this.level = s.level();
      this.capacity = s.capacity();
      this.refillPerSecond = s.refillPerSecond();
      this.slots.putAll(s.slots());
      this.lastWrite = s.lastWrite();
    });
    return stash.unstashAll(this);
  }

  private Behavior<Command> onCommand(Command command) {
    if (!loaded) {
      stash.stash(command);
      return this;
    }
    if (command instanceof Check c) {
      return onCheck(c);
    } else if (command instanceof AcquireSlot a) {
      return onAcquire(a);
    } else if (command instanceof RenewSlot r) {
      if (tenantId.equals(r.tenantId()) && slots.containsKey(r.slotId())) {
        slots.put(r.slotId(), clock.instant().plus(r.lease()));
        dirty = true;
      }
    } else if (command instanceof HoldSlot h) {
      if (tenantId.equals(h.tenantId())) {
        slots.put(h.slotId(), clock.instant().plus(h.lease()));
        dirty = true;
      }
    } else if (command instanceof ReleaseSlot r) {
      if (tenantId.equals(r.tenantId()) && slots.remove(r.slotId()) != null) {
        dirty = true;
      }
    } else if (command instanceof Inspect i) {
      onInspect(i);
    } else if (command instanceof Reset r) {
      onReset(r);
    }
    return this;
  }

  private Behavior<Command> onCheck(Check c) {
    if (!tenantId.equals(c.tenantId())) {
      c.replyTo().tell(new Verdict(false, 0, 1, 0, 0));
      return this;
    }
    Instant now = clock.instant();
    capacity = c.capacity();
    refillPerSecond = c.refillPerSecond();
    BucketMath.Level current = level != null ? level : BucketMath.Level.full(c.capacity(), now);
    BucketMath.Result result = BucketMath.take(current, c.tokens(), now, c.capacity(), c.refillPerSecond());
    level = result.level();
    dirty = true;
    c.replyTo().tell(new Verdict(result.allowed(), result.remaining(), result.retryAfterSeconds(), result.resetSeconds(),
        result.windowSeconds()));
    return this;
  }

  private Behavior<Command> onAcquire(AcquireSlot a) {
    if (!tenantId.equals(a.tenantId())) {
      a.replyTo().tell(new SlotVerdict(false, 0));
      return this;
    }
    Instant now = clock.instant();
    slots.values().removeIf(until -> !until.isAfter(now));
    // A holder asking again for its own slot (its answer was lost, it restarted) keeps it.
    boolean granted = slots.containsKey(a.slotId()) || slots.size() < a.cap();
    if (granted) {
      slots.put(a.slotId(), now.plus(a.lease()));
      dirty = true;
    }
    a.replyTo().tell(new SlotVerdict(granted, slots.size()));
    return this;
  }

  private void onInspect(Inspect i) {
    if (!tenantId.equals(i.tenantId()) || (level == null && slots.isEmpty())) {
      i.replyTo().tell(StatusReply.error(NOT_FOUND));
      return;
    }
    Instant now = clock.instant();
    BucketMath.Level current = level == null || capacity == null ? level
        : BucketMath.refill(level, now, capacity, refillPerSecond);
    long open = slots.values().stream().filter(until -> until.isAfter(now)).count();
    i.replyTo().tell(StatusReply.success(new View(clientKey, current == null ? 0 : current.tokens(), capacity,
        refillPerSecond, current == null ? null : current.lastRefill(), lastWrite, (int) open, revision)));
  }

  private void onReset(Reset r) {
    if (!tenantId.equals(r.tenantId())) {
      r.replyTo().tell(StatusReply.error(NOT_FOUND));
      return;
    }
    level = capacity == null ? null : BucketMath.Level.full(capacity, clock.instant());
    slots.clear();
    dirty = true;
    r.replyTo().tell(StatusReply.ack());
  }

  private Behavior<Command> onFlush() {
    if (loaded && dirty && !writing) {
      write();
    }
    return this;
  }

  private void write() {
    writing = true;
    dirty = false;
    long next = revision + 1;
    Instant at = clock.instant();
    Snapshot snapshot = new Snapshot(level, capacity, refillPerSecond, Map.copyOf(slots), at);
    getContext().pipeToSelf(store.upsertObject(persistenceId, next, snapshot, ""), (done, error) ->
        new Written(next, at, error == null ? null : String.valueOf(error.getMessage())));
  }

  private Behavior<Command> onWritten(Written written) {
    writing = false;
    if (written.failure() != null) {
      getContext().getLog().warn("bucket {} could not write its state: {}", clientKey, written.failure());
      dirty = true;
    } else {
      revision = written.revision();
      lastWrite = written.at();
    }
    return stopping ? onStop() : this;
  }

  private Behavior<Command> onStop() {
    stopping = true;
    if (!loaded) {
      return Behaviors.stopped();
    }
    if (writing) {
      return this;
    }
    if (dirty && stopWrites++ < 3) {
      write();
      return this;
    }
    return Behaviors.stopped();
  }
}
