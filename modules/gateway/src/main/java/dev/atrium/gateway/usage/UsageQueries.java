package dev.atrium.gateway.usage;

import static dev.atrium.gateway.usage.UsageDailyTable.DAY;
import static dev.atrium.gateway.usage.UsageDailyTable.EVENT_DAY;
import static dev.atrium.gateway.usage.UsageDailyTable.FIGURES;
import static dev.atrium.gateway.usage.UsageDailyTable.USAGE_DAILY;
import static dev.atrium.gateway.usage.UsageDailyTable.startOf;
import static dev.atrium.gateway.usage.UsageTable.ACCOUNT_ID;
import static dev.atrium.gateway.usage.UsageTable.CREATED_AT;
import static dev.atrium.gateway.usage.UsageTable.KEY_ID;
import static dev.atrium.gateway.usage.UsageTable.MODEL;
import static dev.atrium.gateway.usage.UsageTable.TENANT_ID;
import static dev.atrium.gateway.usage.UsageTable.USAGE_EVENTS;

import dev.atrium.core.db.Database;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Select;
import org.jooq.SelectField;
import org.jooq.Table;
import org.jooq.impl.DSL;

/**
 * A tenant's usage report, as the service role (the tenant's rows only).
 *
 * <p>The days up to the tenant's last day in {@code usage_daily} are read from there; the
 * days after it (today, and yesterday until the roll-up has run) from {@code usage_events}.
 * The roll-up covers every day from the first row on without gaps, so no day is counted
 * twice or missed; and the events read are only those of the days not rolled up yet, so the
 * query stays small over a year's range. A rolled-up day shows its figures as of its
 * roll-up (late rows join at the next one, see {@link UsageDailyJob}).
 */
final class UsageQueries {
  private final Database database;

  UsageQueries(Database database) {
    this.database = database;
  }

  /** The report of {@code tenantId}'s usage, or only of {@code accountId}'s when not null. */
  CompletionStage<UsageReport> report(String tenantId, String accountId, UsageReport.Range range,
      UsageReport.GroupBy groupBy) {
    return database.inTenant(tenantId, dsl -> UsageReport.of(range, groupBy, accountId,
        rows(dsl, tenantId, accountId, range, groupBy)));
  }

  static List<UsageReport.Row> rows(DSLContext dsl, String tenantId, String accountId, UsageReport.Range range,
      UsageReport.GroupBy groupBy) {
    LocalDate rolled = dsl.select(DSL.max(DAY)).from(USAGE_DAILY).where(Database.tenantIs(TENANT_ID, tenantId))
        .fetchOne(0, LocalDate.class);
    Condition scope = Database.tenantIs(TENANT_ID, tenantId);
    if (accountId != null) {
      scope = scope.and(ACCOUNT_ID.eq(accountId));
    }
    List<Select<Record>> parts = new ArrayList<>();
    if (rolled != null && !rolled.isBefore(range.from())) {
      LocalDate last = rolled.isBefore(range.to()) ? rolled : range.to();
      List<SelectField<?>> select = new ArrayList<>(List.of(DAY, MODEL, KEY_ID));
      FIGURES.forEach(f -> select.add(UsageDailyTable.total(f).as(f)));
      parts.add(dsl.select(select).from(USAGE_DAILY).where(scope).and(DAY.between(range.from(), last))
          .groupBy(DAY, MODEL, KEY_ID));
    }
    LocalDate firstUnrolled = rolled == null || rolled.isBefore(range.from()) ? range.from() : rolled.plusDays(1);
    if (!firstUnrolled.isAfter(range.to())) {
      List<SelectField<?>> select = new ArrayList<>(List.of(EVENT_DAY.as(DAY), MODEL, KEY_ID));
      select.addAll(UsageDailyTable.eventFigures());
      parts.add(dsl.select(select).from(USAGE_EVENTS).where(scope)
          .and(CREATED_AT.ge(startOf(firstUnrolled))).and(CREATED_AT.lt(startOf(range.to().plusDays(1))))
          .groupBy(EVENT_DAY, MODEL, KEY_ID));
    }
    if (parts.isEmpty()) {
      return List.of();
    }
    Select<Record> union = parts.size() == 1 ? parts.get(0) : parts.get(0).unionAll(parts.get(1));
    Table<Record> days = union.asTable("days");
    Field<?> group = switch (groupBy) {
      case DAY -> days.field(DAY);
      case MODEL -> days.field(MODEL);
      case KEY -> days.field(KEY_ID);
    };
    List<SelectField<?>> select = new ArrayList<>(List.of(group));
    FIGURES.forEach(f -> select.add(UsageDailyTable.total(days.field(f)).as(f)));
    return dsl.select(select).from(days).groupBy(group).orderBy(group.asc().nullsLast()).fetch()
        .map(r -> row(groupBy, r));
  }

  private static UsageReport.Row row(UsageReport.GroupBy groupBy, Record r) {
    UsageReport.Figures figures = new UsageReport.Figures(r.get(UsageDailyTable.REQUESTS),
        r.get(UsageDailyTable.TOKENS_IN), r.get(UsageDailyTable.TOKENS_OUT), r.get(UsageDailyTable.CACHED_TOKENS_IN),
        r.get(UsageDailyTable.COST_MICRO_USD), r.get(UsageDailyTable.UNPRICED_REQUESTS),
        r.get(UsageDailyTable.BYO_REQUESTS), r.get(UsageDailyTable.BYO_COST_MICRO_USD), r.get(UsageDailyTable.COMPUTE_MS),
        r.get(UsageDailyTable.CACHE_WRITE_TOKENS_IN));
    return switch (groupBy) {
      case DAY -> new UsageReport.DayRow(r.get(DAY), figures);
      case MODEL -> new UsageReport.ModelRow(r.get(MODEL), figures);
      case KEY -> new UsageReport.KeyRow(r.get(KEY_ID), figures);
    };
  }
}
