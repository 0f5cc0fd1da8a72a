package dev.atrium.core.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TagSlicesTest {
  final TagSlices slices = new TagSlices("run", 10);

  @Test
  void namesEachSliceAfterItsPrefix() {
    assertThat(IntStream.range(0, slices.count()).mapToObj(slices::tag))
        .containsExactly("run-0", "run-1", "run-2", "run-3", "run-4", "run-5", "run-6", "run-7", "run-8", "run-9");
  }

  @Test
  void anEntityKeepsItsSliceAndNegativeHashesLandInRange() {
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE; "a".hashCode() is 97.
    assertThat(slices.of("polygenelubricants")).isEqualTo("run-8");
    assertThat(slices.of("a")).isEqualTo("run-7").isEqualTo(slices.of("a"));
    assertThat(IntStream.range(0, 1000).mapToObj(i -> slices.of("id-" + i)).distinct()).hasSize(10);
  }

  @Test
  void needsAtLeastOneSlice() {
    assertThatThrownBy(() -> new TagSlices("x", 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
