package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AllowanceTest {
  private final Allowance hot = new Allowance(20, 10);

  @Test
  void aFullBucketThenTheRefillOfEverySecond() {
    assertThat(hot.theoretical(60)).isEqualTo(620);
    assertThat(hot.theoretical(20)).isEqualTo(220);
    assertThat(hot.theoretical(0)).isEqualTo(20);
  }

  @Test
  void aTokenHalfRefilledWasNeverGranted() {
    assertThat(hot.theoretical(60.05)).isEqualTo(620);
    assertThat(hot.theoretical(60.1)).isEqualTo(621);
    // 0.1 × 3 is 0.30000000000000004 in binary, 0.7 × 10 is 7.000000000000001: no token lost or minted
    assertThat(new Allowance(1, 0.1).theoretical(30)).isEqualTo(4);
    assertThat(new Allowance(3, 0.7).theoretical(10)).isEqualTo(10);
  }

  @Test
  void theTargetAllowsALittleLessThanTheTheoryAndNeverMore() {
    assertThat(Allowance.accurate(Allowance.ratio(620, 620))).isTrue();
    assertThat(Allowance.accurate(Allowance.ratio(608, 620))).isTrue();   // 0.9806
    assertThat(Allowance.accurate(Allowance.ratio(607, 620))).isFalse();  // 0.979
    assertThat(Allowance.accurate(Allowance.ratio(621, 620))).isFalse();
    assertThat(Allowance.ratio(5, 0)).isNaN();
    assertThat(Allowance.accurate(Double.NaN)).isFalse();
  }

  @Test
  void refusesABucketThatCannotExist() {
    assertThatThrownBy(() -> new Allowance(0, 10)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Allowance(20, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> hot.theoretical(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
