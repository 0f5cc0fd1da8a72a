package dev.atrium.gateway.usage;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * The {@code usage_daily} table for jOOQ, declared by hand (see src/main/sql/V13). Its
 * group columns share their names with {@code usage_events}' ({@link UsageTable}).
 */
final class UsageDailyTable {
  private UsageDailyTable() {}

  static final Table<Record> USAGE_DAILY = DSL.table(DSL.name("usage_daily"));
  static final Field<LocalDate> DAY = DSL.field(DSL.name("day"), SQLDataType.LOCALDATE);
  static final Field<Long> REQUESTS = bigint("requests");
  static final Field<Long> TOKENS_IN = bigint("tokens_in");
  static final Field<Long> TOKENS_OUT = bigint("tokens_out");
  static final Field<Long> CACHED_TOKENS_IN = bigint("cached_tokens_in");
  static final Field<Long> COST_MICRO_USD = bigint("cost_micro_usd");
  static final Field<Long> UNPRICED_REQUESTS = bigint("unpriced_requests");
  static final Field<Long> BYO_REQUESTS = bigint("byo_requests");
  static final Field<Long> BYO_COST_MICRO_USD = bigint("byo_cost_micro_usd");
  static final Field<Long> COMPUTE_MS = bigint("compute_ms");
  /** Migration V15: the last column, so it is the last figure and the export's last field. */
  static final Field<Long> CACHE_WRITE_TOKENS_IN = bigint("cache_write_tokens_in");

  /** The figures of a group, in table order. */
  static final List<Field<Long>> FIGURES =
      List.of(REQUESTS, TOKENS_IN, TOKENS_OUT, CACHED_TOKENS_IN, COST_MICRO_USD, UNPRICED_REQUESTS, BYO_REQUESTS,
          BYO_COST_MICRO_USD, COMPUTE_MS, CACHE_WRITE_TOKENS_IN);

  /** Every column, in table order: the export's fields. */
  static final List<Field<?>> COLUMNS = List.of(DAY, UsageTable.TENANT_ID, UsageTable.ACCOUNT_ID, UsageTable.USER_ID,
      UsageTable.KEY_ID, UsageTable.MODEL, REQUESTS, TOKENS_IN, TOKENS_OUT, CACHED_TOKENS_IN, COST_MICRO_USD,
      UNPRICED_REQUESTS, BYO_REQUESTS, BYO_COST_MICRO_USD, COMPUTE_MS, CACHE_WRITE_TOKENS_IN);

  /** The UTC day of a {@code usage_events} row. */
  static final Field<LocalDate> EVENT_DAY =
      DSL.field("({0} at time zone 'UTC')::date", SQLDataType.LOCALDATE, UsageTable.CREATED_AT);

  /**
   * The figures of a group of {@code usage_events} rows, aggregated as {@link #FIGURES} (same
   * names and order): the roll-up writes these, the usage views read them for the days not
   * rolled up yet.
   */
  static List<Field<Long>> eventFigures() {
    return List.of(
        DSL.count().cast(SQLDataType.BIGINT).as(REQUESTS),
        total(UsageTable.TOKENS_IN).as(TOKENS_IN),
        total(UsageTable.TOKENS_OUT).as(TOKENS_OUT),
        total(UsageTable.CACHED_TOKENS_IN).as(CACHED_TOKENS_IN),
        // The tenant's cost: its priced calls on its own provider keys. An unpriced call (cost
        // null) adds nothing and is counted next; a call on a caller's own key (byo) is the
        // caller's to pay and counted apart, tokens and requests included above.
        total(UsageTable.COST_MICRO_USD, UsageTable.BYO.isFalse()).as(COST_MICRO_USD),
        DSL.count().filterWhere(UsageTable.COST_MICRO_USD.isNull()).cast(SQLDataType.BIGINT).as(UNPRICED_REQUESTS),
        DSL.count().filterWhere(UsageTable.BYO.isTrue()).cast(SQLDataType.BIGINT).as(BYO_REQUESTS),
        total(UsageTable.COST_MICRO_USD, UsageTable.BYO.isTrue()).as(BYO_COST_MICRO_USD),
        total(UsageTable.TOTAL_MS).as(COMPUTE_MS),
        total(UsageTable.CACHE_WRITE_TOKENS_IN).as(CACHE_WRITE_TOKENS_IN));
  }

  /** The sum of {@code field} over a group, as a bigint (0 for no rows). */
  static Field<Long> total(Field<? extends Number> field) {
    return DSL.coalesce(DSL.sum(field), DSL.inline(BigDecimal.ZERO)).cast(SQLDataType.BIGINT);
  }

  /** The sum of {@code field} over the group's rows where {@code which} holds, as a bigint (0 for none). */
  static Field<Long> total(Field<? extends Number> field, org.jooq.Condition which) {
    return DSL.coalesce(DSL.sum(field).filterWhere(which), DSL.inline(BigDecimal.ZERO)).cast(SQLDataType.BIGINT);
  }

  /** Today (UTC) by {@code clock}: the days before it are complete. */
  static LocalDate today(Clock clock) {
    return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
  }

  /** The first instant of {@code day} (UTC), for ranges of {@code usage_events.created_at}. */
  static OffsetDateTime startOf(LocalDate day) {
    return day.atStartOfDay().atOffset(ZoneOffset.UTC);
  }

  private static Field<Long> bigint(String name) {
    return DSL.field(DSL.name(name), SQLDataType.BIGINT);
  }
}
