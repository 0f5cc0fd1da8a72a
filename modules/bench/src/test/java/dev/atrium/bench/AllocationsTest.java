package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AllocationsTest {
  private static final Instant T0 = Instant.parse("2026-12-02T00:00:00Z");

  @Test
  void countsPerThreadGrowthBetweenTheSamplesAroundAnInterval() {
    List<Allocations.Sample> samples = List.of(
        new Allocations.Sample(T0, Map.of(1L, 100L, 2L, 1_000L)),
        new Allocations.Sample(T0.plusSeconds(1), Map.of(1L, 150L, 2L, 1_500L)),
        // thread 2 ended, thread 3 was born
        new Allocations.Sample(T0.plusSeconds(2), Map.of(1L, 400L, 3L, 70L)),
        new Allocations.Sample(T0.plusSeconds(3), Map.of(1L, 900L, 3L, 80L)));
    // from 0.5 s to 1.5 s: the samples at 0 s and 2 s
    assertThat(Allocations.between(samples, T0.plusMillis(500), T0.plusMillis(1500))).isEqualTo(300 + 70);
    // exactly on samples: those samples
    assertThat(Allocations.between(samples, T0.plusSeconds(1), T0.plusSeconds(3))).isEqualTo(750 + 80);
    assertThat(Allocations.between(samples, T0.minusSeconds(1), T0.plusSeconds(1))).isEqualTo(-1);
    assertThat(Allocations.between(samples, T0, T0.plusSeconds(4))).isEqualTo(-1);
  }

  @Test
  void readsWhatAJvmAllocatedFromItsFlightRecorder(@TempDir Path dir) {
    long pid = ProcessHandle.current().pid();
    Allocations recording = Allocations.start(pid, dir);
    try {
      Instant first = Instant.now();
      List<Allocations.Sample> started = recording.samplesUntil(first, Duration.ofSeconds(10));
      assertThat(started).isNotEmpty();
      Instant from = Instant.now();
      List<byte[]> kept = new ArrayList<>();
      for (int i = 0; i < 48; i++) {
        kept.add(new byte[1 << 20]);
      }
      kept.add(new byte[32 << 20]); // humongous for G1: allocated outside the young generation
      Instant to = Instant.now();
      List<Allocations.Sample> samples = recording.samplesUntil(to, Duration.ofSeconds(10));
      long bytes = Allocations.between(samples, from, to);
      assertThat(kept).hasSize(49);
      assertThat(bytes).isGreaterThanOrEqualTo(80L << 20).isLessThan(1L << 30);
    } finally {
      recording.stop();
    }
  }
}
