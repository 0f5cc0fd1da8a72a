package dev.atrium.core;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: {@code base × 2^(attempt-1) × [0.5, 1.5)}, capped at
 * {@code max}. The jitter keeps many callers that failed together from retrying together.
 */
public record Backoff(Duration base, Duration max) {
  public static final Backoff NONE = new Backoff(Duration.ZERO, Duration.ZERO);

  public Backoff {
    if (base.isNegative() || max.isNegative()) {
      throw new IllegalArgumentException("backoff durations are never negative");
    }
  }

  /** The wait before retry number {@code attempt} (1 for the first retry). */
  public Duration delay(int attempt) {
    double jitter = 0.5 + ThreadLocalRandom.current().nextDouble();
    double millis = base.toMillis() * Math.pow(2, Math.max(0, attempt - 1)) * jitter;
    return Duration.ofMillis((long) Math.max(0, Math.min(max.toMillis(), millis)));
  }

  /** {@code interval} ± {@code spread} (a fraction, 0.25 for ± 25 %), for retries that do not grow. */
  public static Duration around(Duration interval, double spread) {
    long base = interval.toMillis();
    long low = (long) (base * (1 - spread));
    long width = (long) (base * 2 * spread);
    return Duration.ofMillis(low + ThreadLocalRandom.current().nextLong(width + 1));
  }
}
