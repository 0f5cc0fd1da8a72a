package dev.atrium.bench;

/**
 * What an exact token bucket may grant: a full bucket at the first request ({@code capacity}),
 * then {@code refillPerSecond} for every second after it. Over a run of S seconds against a
 * fresh bucket that is {@code capacity + refillPerSecond × S} requests, whole ones (a token
 * half refilled when the run ends was never granted).
 */
record Allowance(int capacity, double refillPerSecond) {
  /** The accuracy target: a limiter may grant a little less than the theory (its own latency), never more. */
  static final double MIN_RATIO = 0.98;
  static final double MAX_RATIO = 1.00;
  /** Guards the floor against 619.9999999 for what is 620 in decimal. */
  private static final double EPSILON = 1e-9;

  Allowance {
    if (capacity < 1 || !(refillPerSecond > 0)) {
      throw new IllegalArgumentException("a bucket needs capacity >= 1 and a positive refill rate");
    }
  }

  /** Requests an exact limiter grants over {@code seconds} of sustained demand on a fresh bucket. */
  long theoretical(double seconds) {
    if (seconds < 0) {
      throw new IllegalArgumentException("seconds must not be negative");
    }
    return (long) Math.floor(capacity + refillPerSecond * seconds + EPSILON);
  }

  /** Granted requests against the theory: 1.0 is exact, above 1 is a limiter that let too much through. */
  static double ratio(long allowed, long theoretical) {
    return theoretical <= 0 ? Double.NaN : (double) allowed / theoretical;
  }

  static boolean accurate(double ratio) {
    return ratio >= MIN_RATIO && ratio <= MAX_RATIO;
  }
}
