package dev.atrium.limits;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link TokenBucket} in memory: its level, the settings of its last check, its leased
 * slots, and where the durable-state store is ({@code revision} and {@code lastWrite} of the
 * last write that succeeded; {@code changed} when memory differs from the last write sent).
 * {@code level} is null until the first check; {@code capacity} and {@code refillPerSecond}
 * too.
 */
record BucketState(BucketMath.Level level, Integer capacity, Double refillPerSecond, Map<String, Instant> slots,
    Instant lastWrite, long revision, boolean changed) {

  BucketState {
    slots = Map.copyOf(slots);
  }

  /** What the store holds at {@code revision}: nothing for a bucket never written. */
  static BucketState loaded(Optional<TokenBucket.Snapshot> snapshot, long revision) {
    return snapshot
        .map(s -> new BucketState(s.level(), s.capacity(), s.refillPerSecond(), s.slots(), s.lastWrite(), revision, false))
        .orElseGet(() -> new BucketState(null, null, null, Map.of(), null, revision, false));
  }

  /** Never used for anything: nothing to inspect. */
  boolean unused() {
    return level == null && slots.isEmpty();
  }

  BucketState checked(BucketMath.Level newLevel, int newCapacity, double newRefillPerSecond) {
    return new BucketState(newLevel, newCapacity, newRefillPerSecond, slots, lastWrite, revision, true);
  }

  /** The level now, refilled since the last check (null before the first). */
  BucketMath.Level levelAt(Instant now) {
    return level == null || capacity == null ? level : BucketMath.refill(level, now, capacity, refillPerSecond);
  }

  /** Full again (when the capacity is known) and no slot held. */
  BucketState reset(Instant now) {
    BucketMath.Level full = capacity == null ? null : BucketMath.Level.full(capacity, now);
    return new BucketState(full, capacity, refillPerSecond, Map.of(), lastWrite, revision, true);
  }

  boolean holds(String slotId) {
    return slots.containsKey(slotId);
  }

  /** The slots whose lease has not run out at {@code now}. */
  Map<String, Instant> openSlots(Instant now) {
    Map<String, Instant> open = new HashMap<>(slots);
    open.values().removeIf(until -> !until.isAfter(now));
    return open;
  }

  BucketState withSlot(String slotId, Instant until) {
    Map<String, Instant> more = new HashMap<>(slots);
    more.put(slotId, until);
    return withSlots(more);
  }

  /** {@code slotId} leased until {@code until}, and the slots run out at {@code now} dropped. */
  BucketState leased(String slotId, Instant until, Instant now) {
    Map<String, Instant> open = openSlots(now);
    open.put(slotId, until);
    return withSlots(open);
  }

  BucketState withoutSlot(String slotId) {
    Map<String, Instant> rest = new HashMap<>(slots);
    rest.remove(slotId);
    return withSlots(rest);
  }

  private BucketState withSlots(Map<String, Instant> newSlots) {
    return new BucketState(level, capacity, refillPerSecond, newSlots, lastWrite, revision, true);
  }

  TokenBucket.Snapshot snapshot(Instant at) {
    return new TokenBucket.Snapshot(level, capacity, refillPerSecond, slots, at);
  }

  /** A write of this state is on its way to the store. */
  BucketState sent() {
    return new BucketState(level, capacity, refillPerSecond, slots, lastWrite, revision, false);
  }

  /** The store has the write of {@code at}; what changed since is still to be written. */
  BucketState written(long newRevision, Instant at) {
    return new BucketState(level, capacity, refillPerSecond, slots, at, newRevision, changed);
  }

  /** A write failed: what it carried is still to be written. */
  BucketState unwritten() {
    return new BucketState(level, capacity, refillPerSecond, slots, lastWrite, revision, true);
  }
}
