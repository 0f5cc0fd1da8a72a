package dev.atrium.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The bucket arithmetic with an injected clock: exact remaining, retry-after and reset values. */
class BucketMathTest {
  static final Instant T0 = Instant.parse("2026-11-23T12:00:00Z");

  static Instant at(double seconds) {
    return T0.plusNanos((long) (seconds * 1e9));
  }

  /** tokens before, last refill (s), now (s), capacity, rate/s, take → allowed, remaining, retryAfter, reset, window. */
  static Stream<Arguments> cases() {
    return Stream.of(
        // a full bucket pays out
        Arguments.of(10.0, 0.0, 0.0, 10, 1.0, 1, true, 9L, 0L, 1L, 10L),
        // the last token
        Arguments.of(1.0, 0.0, 0.0, 10, 1.0, 1, true, 0L, 0L, 10L, 10L),
        // empty: wait one second for one token at 1/s
        Arguments.of(0.0, 0.0, 0.0, 10, 1.0, 1, false, 0L, 1L, 10L, 10L),
        // empty at 0.5/s: two seconds, rounded up from exactly 2
        Arguments.of(0.0, 0.0, 0.0, 60, 0.5, 1, false, 0L, 2L, 120L, 120L),
        // 0.3 tokens at 0.5/s: 1.4 s to the next token → 2 (whole seconds, rounded up)
        Arguments.of(0.3, 0.0, 0.0, 60, 0.5, 1, false, 0L, 2L, 120L, 120L),
        // refill over 2.5 s at 2/s adds 5
        Arguments.of(0.0, 0.0, 2.5, 20, 2.0, 1, true, 4L, 0L, 8L, 10L),
        // a long idle refills to capacity, never beyond
        Arguments.of(0.0, 0.0, 86_400.0, 20, 2.0, 1, true, 19L, 0L, 1L, 10L),
        // N tokens at once
        Arguments.of(10.0, 0.0, 0.0, 10, 1.0, 4, true, 6L, 0L, 4L, 10L),
        // N tokens not all there: 3 missing at 1/s
        Arguments.of(2.0, 0.0, 0.0, 10, 1.0, 5, false, 2L, 3L, 8L, 10L),
        // more tokens than the capacity can ever hold: denied
        Arguments.of(10.0, 0.0, 0.0, 10, 1.0, 11, false, 10L, 1L, 0L, 10L),
        // capacity lowered below the stored tokens: capped first
        Arguments.of(50.0, 0.0, 0.0, 10, 1.0, 1, true, 9L, 0L, 1L, 10L),
        // the clock went backwards by 5 s: nothing is added
        Arguments.of(3.0, 10.0, 5.0, 10, 1.0, 1, true, 2L, 0L, 8L, 10L),
        // 10 req/s with burst 20, exactly 0.1 s apart: one token arrives each time
        Arguments.of(0.0, 0.0, 0.1, 20, 10.0, 1, true, 0L, 0L, 2L, 2L));
  }

  @ParameterizedTest(name = "{0} tokens, refilled at {1}s, now {2}s, cap {3} at {4}/s, take {5}")
  @MethodSource("cases")
  void takesTokens(double tokens, double lastRefill, double now, int capacity, double rate, int take,
      boolean allowed, long remaining, long retryAfter, long reset, long window) {
    var result = BucketMath.take(new BucketMath.Level(tokens, at(lastRefill)), take, at(now), capacity, rate);
    assertThat(result.allowed()).as("allowed").isEqualTo(allowed);
    assertThat(result.remaining()).as("remaining").isEqualTo(remaining);
    assertThat(result.retryAfterSeconds()).as("retry after").isEqualTo(retryAfter);
    assertThat(result.resetSeconds()).as("reset").isEqualTo(reset);
    assertThat(result.windowSeconds()).as("window").isEqualTo(window);
  }

  @Test
  void aClockGoingBackwardsNeverMovesTheRefillBack() {
    var level = new BucketMath.Level(3.0, at(10));
    var back = BucketMath.refill(level, at(5), 10, 1.0);
    assertThat(back.lastRefill()).isEqualTo(at(10));
    // When time catches up, only the real elapsed time (from 10 s) counts.
    var later = BucketMath.refill(back, at(12), 10, 1.0);
    assertThat(later.tokens()).isEqualTo(5.0);
  }

  @Test
  void theTheoreticalAllowanceOfAHotKeyIsBurstPlusRateTimesTime() {
    // 10 req/s, burst 20, requests every 10 ms for 60 s: 20 + 600 = 620 allowed.
    var level = BucketMath.Level.full(20, T0);
    int allowed = 0;
    for (int ms = 0; ms < 60_000; ms += 10) {
      var result = BucketMath.take(level, 1, T0.plusMillis(ms), 20, 10.0);
      level = result.level();
      if (result.allowed()) {
        allowed++;
      }
    }
    assertThat(allowed).isBetween(619, 620);
  }
}
