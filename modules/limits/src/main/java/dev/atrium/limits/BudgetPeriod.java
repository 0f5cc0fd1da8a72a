package dev.atrium.limits;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/** The periods a budget counts in: the UTC day and the UTC calendar month. */
enum BudgetPeriod {
  DAY("day"),
  MONTH("month");

  private final String wireName;

  BudgetPeriod(String wireName) {
    this.wireName = wireName;
  }

  String wireName() {
    return wireName;
  }

  static BudgetPeriod of(String wireName) {
    for (BudgetPeriod p : values()) {
      if (p.wireName.equals(wireName)) {
        return p;
      }
    }
    throw new IllegalArgumentException(wireName);
  }

  /** When the period holding {@code at} began. */
  Instant start(Instant at) {
    LocalDate day = LocalDate.ofInstant(at, ZoneOffset.UTC);
    LocalDate first = this == DAY ? day : day.withDayOfMonth(1);
    return first.atStartOfDay(ZoneOffset.UTC).toInstant();
  }

  /** When the period holding {@code at} ends (the next one's start): its caps reset then. */
  Instant end(Instant at) {
    ZonedDateTime start = start(at).atZone(ZoneOffset.UTC);
    return (this == DAY ? start.plusDays(1) : start.plusMonths(1)).toInstant();
  }

  /** The period holding {@code at}, named: {@code 2026-12-01} or {@code 2026-12}. */
  String key(Instant at) {
    LocalDate day = LocalDate.ofInstant(at, ZoneOffset.UTC);
    return this == DAY ? day.toString() : day.toString().substring(0, 7);
  }
}
