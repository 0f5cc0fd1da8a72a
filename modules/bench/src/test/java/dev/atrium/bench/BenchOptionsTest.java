package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BenchOptionsTest {
  private static final Set<String> ACCEPTED = Set.of("concurrency", "duration");

  @Test
  void readsSpacedAndEqualsFlagsAndFallsBackToDefaults() {
    BenchOptions o = BenchOptions.parse(new String[] {"chat", "--concurrency", "8", "--duration=2m"}, 1, ACCEPTED);
    assertThat(o.integer("concurrency", 64, 1, 100)).isEqualTo(8);
    assertThat(o.duration("duration", Duration.ZERO)).isEqualTo(Duration.ofMinutes(2));
    assertThat(BenchOptions.parse(new String[] {"chat"}, 1, ACCEPTED).duration("duration", Duration.ofSeconds(30)))
        .isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void takesMillisecondsAndSeconds() {
    BenchOptions o = BenchOptions.parse(new String[] {"--duration", "500ms"}, 0, ACCEPTED);
    assertThat(o.duration("duration", Duration.ZERO)).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void namesTheFlagItRejects() {
    assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--warmpu", "20s"}, 0, ACCEPTED))
        .hasMessageContaining("--warmpu");
    assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--duration"}, 0, ACCEPTED))
        .hasMessageContaining("needs a value");
    BenchOptions o = BenchOptions.parse(new String[] {"--duration", "30", "--concurrency", "0"}, 0, ACCEPTED);
    assertThatThrownBy(() -> o.duration("duration", Duration.ZERO)).hasMessageContaining("30s");
    assertThatThrownBy(() -> o.integer("concurrency", 64, 1, 100)).hasMessageContaining("between 1 and 100");
  }
}
