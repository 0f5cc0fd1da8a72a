package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PacedTest {
  @Test
  void sendsAtTheRateWhateverTheAnswersTake() {
    AtomicInteger calls = new AtomicInteger();
    AtomicInteger inFlight = new AtomicInteger();
    // Each answer takes 100 ms: a closed loop of one worker would send 5 in 0.5 s, the paced load sends 20.
    Paced.Result r = Paced.run("test", 40, 64, ignored -> {
      calls.incrementAndGet();
      Thread.sleep(100);
      return new Load.Timing(50_000_000, 100_000_000);
    }, Duration.ofMillis(500), new Meter(), inFlight);
    assertThat(r.due()).isEqualTo(20);
    assertThat(r.sent()).isEqualTo(20);
    assertThat(calls.get()).isEqualTo(20);
    assertThat(r.refused()).isZero();
    assertThat(r.window().errors()).isZero();
    assertThat(inFlight.get()).as("every request was waited for").isZero();
    assertThat(r.meanLatencyNanos()).isGreaterThanOrEqualTo(100_000_000);
    assertThat(r.window().total().getMinValue()).isGreaterThanOrEqualTo(100_000);
  }

  @Test
  void aRequestDueWhileTheCapIsInFlightIsNotSentAndCountsAsAnError() {
    Paced.Result r = Paced.run("capped", 40, 1, ignored -> {
      Thread.sleep(120);
      return new Load.Timing(1, 120_000_000);
    }, Duration.ofMillis(500), new Meter(), new AtomicInteger());
    assertThat(r.due()).isEqualTo(20);
    assertThat(r.refused()).isPositive();
    assertThat(r.sent()).isEqualTo(r.due() - r.refused()).isBetween(3L, 6L);
    assertThat(r.window().errors()).isEqualTo(r.refused());
    assertThat(r.window().errorSamples()).anyMatch(s -> s.contains("not sent"));
  }

  @Test
  void failedRequestsAreErrorsWithTheirMessages() {
    Paced.Result r = Paced.run("failing", 20, 8, ignored -> {
      throw new IOException("HTTP 503");
    }, Duration.ofMillis(300), new Meter(), new AtomicInteger());
    assertThat(r.sent()).isEqualTo(6);
    assertThat(r.window().errors()).isEqualTo(6);
    assertThat(r.window().completed()).isZero();
    assertThat(r.window().errorSamples()).first().asString().contains("HTTP 503");
  }
}
