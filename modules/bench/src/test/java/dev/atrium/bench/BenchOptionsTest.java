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

  @Test
  void readsRangesChoicesAndBareSeconds() {
    BenchOptions o = BenchOptions.parse(new String[] {"--prompts", "2-3", "--hot-seconds", "20", "--duration", "15s",
        "--distribution", "uniform"}, 0, Set.of("prompts", "hot-seconds", "duration", "distribution", "other"));
    assertThat(o.range("prompts", new int[] {1, 1}, 1, 1000)).containsExactly(2, 3);
    assertThat(o.range("other", new int[] {4, 5}, 1, 1000)).containsExactly(4, 5);
    assertThat(o.seconds("hot-seconds", Duration.ZERO)).isEqualTo(Duration.ofSeconds(20));
    assertThat(o.seconds("duration", Duration.ZERO)).isEqualTo(Duration.ofSeconds(15));
    assertThat(o.seconds("other", Duration.ofMinutes(1))).isEqualTo(Duration.ofMinutes(1));
    assertThat(o.choice("distribution", "clustered", Set.of("clustered", "uniform"))).isEqualTo("uniform");
    assertThat(BenchOptions.parse(new String[] {"--prompts", "3"}, 0, Set.of("prompts"))
        .range("prompts", new int[] {1, 1}, 1, 1000)).containsExactly(3, 3);
  }

  @Test
  void rejectsRangesOutOfOrderAndUnknownChoices() {
    BenchOptions o = BenchOptions.parse(new String[] {"--prompts", "3-2", "--distribution", "gaussian"}, 0,
        Set.of("prompts", "distribution"));
    assertThatThrownBy(() -> o.range("prompts", new int[] {2, 3}, 1, 1000)).hasMessageContaining("low end first");
    assertThatThrownBy(() -> o.choice("distribution", "clustered", Set.of("clustered", "uniform")))
        .hasMessageContaining("gaussian").hasMessageContaining("[clustered, uniform]");
    assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--prompts", "two"}, 0, Set.of("prompts"))
        .range("prompts", new int[] {2, 3}, 1, 1000)).hasMessageContaining("range such as 2-3");
  }
}
