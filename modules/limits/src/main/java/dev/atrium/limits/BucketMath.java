package dev.atrium.limits;

import dev.atrium.core.JsonSerializable;
import java.time.Duration;
import java.time.Instant;

/**
 * Token-bucket arithmetic, pure and clock-injected. A bucket holds up to {@code capacity}
 * tokens and gains {@code refillPerSecond} per second; a request takes N tokens or is
 * denied with the time until N exist. A clock that goes backwards adds nothing (and never
 * moves the last refill back), so a node with a skewed clock cannot mint tokens.
 */
public final class BucketMath {
  /** Rounding guard: 10 requests at exactly 10/s must all pass, not fail by 1e-15. */
  private static final double EPSILON = 1e-9;

  private BucketMath() {}

  /** Tokens and when they were last topped up. */
  public record Level(double tokens, Instant lastRefill) implements JsonSerializable {
    public static Level full(int capacity, Instant now) {
      return new Level(capacity, now);
    }
  }

  /** The level after a check, and what the caller is told. */
  public record Result(Level level, boolean allowed, long remaining, long retryAfterSeconds, long resetSeconds,
      long windowSeconds) {}

  public static Level refill(Level level, Instant now, int capacity, double refillPerSecond) {
    double tokens = Math.min(level.tokens(), capacity);
    if (!now.isAfter(level.lastRefill())) {
      return new Level(tokens, level.lastRefill());
    }
    double elapsed = Duration.between(level.lastRefill(), now).toNanos() / 1e9;
    return new Level(Math.min(capacity, tokens + elapsed * refillPerSecond), now);
  }

  public static Result take(Level level, int tokens, Instant now, int capacity, double refillPerSecond) {
    Level refilled = refill(level, now, capacity, refillPerSecond);
    boolean allowed = tokens <= capacity && refilled.tokens() + EPSILON >= tokens;
    Level next = allowed ? new Level(Math.max(0, refilled.tokens() - tokens), refilled.lastRefill()) : refilled;
    long retryAfter = allowed ? 0 : seconds((tokens - refilled.tokens()) / refillPerSecond);
    return new Result(next, allowed, remaining(next), Math.max(allowed ? 0 : 1, retryAfter),
        seconds((capacity - next.tokens()) / refillPerSecond), window(capacity, refillPerSecond));
  }

  /** Whole tokens left. */
  public static long remaining(Level level) {
    return (long) Math.floor(level.tokens() + EPSILON);
  }

  /** Seconds to refill from empty: the window of the RateLimit-Policy header. */
  public static long window(int capacity, double refillPerSecond) {
    return seconds(capacity / refillPerSecond);
  }

  /** Whole seconds, rounded up (a fraction of a second still means "wait"). */
  static long seconds(double value) {
    if (value <= EPSILON) {
      return 0;
    }
    return (long) Math.ceil(value - EPSILON);
  }
}
