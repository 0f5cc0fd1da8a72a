package dev.atrium.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The budget's arithmetic: limits at the ratio, all or nothing, optional spend, settling, periods, expiry, resets. */
class BudgetBookTest {
  static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
  static final Instant LATER = NOW.plusSeconds(60);

  static BudgetBook.ScopeCaps tokensPerDay(String scope, long cap) {
    return new BudgetBook.ScopeCaps(scope, cap, null, null, null, 0.9);
  }

  static BudgetBook.ScopeCaps spendPerMonth(String scope, long microUsd) {
    return new BudgetBook.ScopeCaps(scope, null, null, null, microUsd, 0.9);
  }

  @Test
  void grantsUpToTheCapTimesItsRatioAndNoFurther() {
    BudgetBook book = new BudgetBook();
    var caps = List.of(tokensPerDay("tenant", 100));
    for (int i = 0; i < 9; i++) {
      assertThat(book.reserve("r" + i, caps, 10, 0, false, NOW, LATER).granted()).isTrue();
    }
    BudgetBook.Outcome refused = book.reserve("r9", caps, 10, 0, false, NOW, LATER);
    assertThat(refused.granted()).isFalse();
    assertThat(refused.scope()).isEqualTo("tenant");
    assertThat(refused.period()).isEqualTo(BudgetPeriod.DAY);
    assertThat(refused.measure()).isEqualTo("tokens");
    assertThat(refused.used()).isEqualTo(90);
    // A smaller call still fits under 90? No: 90 + 1 passes 90.
    assertThat(book.reserve("r10", caps, 1, 0, false, NOW, LATER).granted()).isFalse();
  }

  @Test
  void aRefusalInOneScopeHoldsNothingInTheOthers() {
    BudgetBook book = new BudgetBook();
    var caps = List.of(tokensPerDay("tenant", 1000), tokensPerDay("key:k1", 20));
    assertThat(book.reserve("a", caps, 15, 0, false, NOW, LATER).granted()).isTrue();
    assertThat(book.reserve("b", caps, 15, 0, false, NOW, LATER).granted()).isFalse();
    assertThat(book.line("tenant", BudgetPeriod.DAY, NOW).heldTokens).isEqualTo(15);
    assertThat(book.line("key:k1", BudgetPeriod.DAY, NOW).heldTokens).isEqualTo(15);
  }

  @Test
  void settlingReplacesTheHoldWithWhatWasUsed() {
    BudgetBook book = new BudgetBook();
    var caps = List.of(tokensPerDay("tenant", 100), spendPerMonth("tenant", 1_000));
    book.reserve("a", caps, 50, 400, false, NOW, LATER);
    book.settle("a", List.of("tenant", "key:k1"), 12, 30, NOW, NOW);
    BudgetBook.Line day = book.line("tenant", BudgetPeriod.DAY, NOW);
    assertThat(day.heldTokens).isZero();
    assertThat(day.settledTokens).isEqualTo(12);
    assertThat(book.line("tenant", BudgetPeriod.MONTH, NOW).settledMicroUsd).isEqualTo(30);
    // The key had no cap, but its line counts what it used (a cap added later starts right).
    assertThat(book.line("key:k1", BudgetPeriod.DAY, NOW).settledTokens).isEqualTo(12);
    // Settling twice (a lost reply retried) does not drop another hold; an unknown id just adds.
    book.settle("a", List.of("tenant"), 1, 0, NOW, NOW);
    assertThat(book.line("tenant", BudgetPeriod.DAY, NOW).settledTokens).isEqualTo(13);
  }

  @Test
  void optionalSpendIsHeldOnlyWhereThereIsRoom() {
    BudgetBook book = new BudgetBook();
    var caps = List.of(new BudgetBook.ScopeCaps("tenant", 1_000L, null, 100L, null, 1.0));
    assertThat(book.reserve("a", caps, 10, 90, false, NOW, LATER).spendHeld()).isTrue();
    assertThat(book.reserve("b", caps, 10, 20, false, NOW, LATER).granted()).isFalse();
    BudgetBook.Outcome byo = book.reserve("c", caps, 10, 20, true, NOW, LATER);
    assertThat(byo.granted()).isTrue();
    assertThat(byo.spendHeld()).isFalse();
    assertThat(book.line("tenant", BudgetPeriod.DAY, NOW).heldMicroUsd).isEqualTo(90);
    assertThat(book.line("tenant", BudgetPeriod.DAY, NOW).heldTokens).isEqualTo(20);
  }

  @Test
  void aNewDayStartsFromNothingAndALateSettleOfYesterdayCountsOnlyForTheMonth() {
    BudgetBook book = new BudgetBook();
    var caps = List.of(new BudgetBook.ScopeCaps("tenant", 100L, 1_000L, null, null, 1.0));
    Instant evening = Instant.parse("2026-12-01T23:59:00Z");
    Instant morning = Instant.parse("2026-12-02T00:01:00Z");
    book.reserve("a", caps, 80, 0, false, evening, evening.plusSeconds(600));
    book.settle("a", List.of("tenant"), 80, 0, evening, morning);
    assertThat(book.line("tenant", BudgetPeriod.DAY, morning).settledTokens).isZero();
    assertThat(book.line("tenant", BudgetPeriod.MONTH, morning).settledTokens).isEqualTo(80);
    assertThat(book.reserve("b", caps, 100, 0, false, morning, morning.plusSeconds(60)).granted()).isTrue();
  }

  @Test
  void aReservationThatNeverSettlesStopsHoldingWhenItExpires() {
    BudgetBook book = new BudgetBook();
    var caps = List.of(tokensPerDay("tenant", 100));
    book.reserve("a", caps, 90, 0, false, NOW, NOW.plus(Duration.ofSeconds(150)));
    assertThat(book.reserve("b", caps, 1, 0, false, NOW, LATER).granted()).isFalse();
    assertThat(book.expire(NOW.plusSeconds(149))).isZero();
    assertThat(book.expire(NOW.plusSeconds(150))).isEqualTo(1);
    assertThat(book.reserve("b", caps, 1, 0, false, NOW.plusSeconds(150), LATER.plusSeconds(150)).granted()).isTrue();
    assertThat(book.openReservations()).isEqualTo(1);
  }

  @Test
  void aResetStartsThePeriodAgainAndCallsFromBeforeItDoNotCount() {
    BudgetBook book = new BudgetBook();
    var caps = List.of(tokensPerDay("tenant", 100));
    book.settle(null, List.of("tenant"), 90, 0, NOW, NOW);
    assertThat(book.reserve("a", caps, 1, 0, false, NOW, LATER).granted()).isFalse();
    book.reset("tenant", BudgetPeriod.DAY, NOW.plusSeconds(1));
    // A call that started before the reset and settles after it belongs to the old period.
    book.settle(null, List.of("tenant"), 50, 0, NOW, NOW.plusSeconds(2));
    assertThat(book.line("tenant", BudgetPeriod.DAY, NOW.plusSeconds(2)).settledTokens).isZero();
    assertThat(book.reserve("b", caps, 90, 0, false, NOW.plusSeconds(2), LATER).granted()).isTrue();
  }

  @Test
  void derivedTotalsWinWhenTheyAreLargerAndARestoredBookHoldsNothing() {
    BudgetBook saved = new BudgetBook();
    saved.reserve("open", List.of(tokensPerDay("tenant", 1_000)), 500, 0, false, NOW, LATER);
    saved.settle(null, List.of("tenant"), 40, 7, NOW, NOW);
    BudgetBook book = BudgetBook.restored(saved.saved());
    assertThat(book.openReservations()).isZero();
    assertThat(book.line("tenant", BudgetPeriod.DAY, NOW).heldTokens).isZero();
    book.derived("tenant", BudgetPeriod.DAY, BudgetPeriod.DAY.key(NOW), 60, 5);
    BudgetBook.Line day = book.line("tenant", BudgetPeriod.DAY, NOW);
    assertThat(day.settledTokens).isEqualTo(60);
    assertThat(day.settledMicroUsd).isEqualTo(7);
  }
}
