package dev.atrium.gateway.usage;

import static dev.atrium.gateway.usage.UsageDailyTable.DAY;
import static dev.atrium.gateway.usage.UsageDailyTable.EVENT_DAY;
import static dev.atrium.gateway.usage.UsageDailyTable.USAGE_DAILY;
import static dev.atrium.gateway.usage.UsageDailyTable.startOf;
import static dev.atrium.gateway.usage.UsageTable.ACCOUNT_ID;
import static dev.atrium.gateway.usage.UsageTable.CREATED_AT;
import static dev.atrium.gateway.usage.UsageTable.KEY_ID;
import static dev.atrium.gateway.usage.UsageTable.MODEL;
import static dev.atrium.gateway.usage.UsageTable.TENANT_ID;
import static dev.atrium.gateway.usage.UsageTable.USAGE_EVENTS;
import static dev.atrium.gateway.usage.UsageTable.USER_ID;

import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.jobs.Job;
import java.time.Clock;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.SelectField;
import org.jooq.impl.DSL;

/**
 * The scheduled job ({@code atrium.jobs.usage-daily}) that rolls {@code usage_events} up into
 * {@code usage_daily}, across tenants (system role).
 *
 * <p>Which days: every complete UTC day (before today, by the scheduler's clock) from the
 * last day rolled up through yesterday, and always the {@value #RECHECK_DAYS} days before
 * today. Rows can come late: a call is stamped when it starts (a stream that crosses midnight
 * belongs to the day before), and the recorder holds rows while the database is down. The
 * first run starts at the earliest row. Each day rolled is replaced whole (delete and insert
 * in one transaction, under an advisory lock), so running the job again gives the same
 * figures, and late rows are in them.
 */
final class UsageDailyJob implements Job {
  static final String NAME = "usage-daily";
  /** Yesterday and the day before are rolled up again on every run. */
  static final int RECHECK_DAYS = 2;

  private final ProjectionDatabase database;
  private final Clock clock;

  UsageDailyJob(ProjectionDatabase database, Clock clock) {
    this.database = database;
    this.clock = clock;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public CompletionStage<Map<String, Long>> run(Job.Slot slot) {
    // Today by the clock, not by the slot: a manual run takes a slot in the future.
    LocalDate today = UsageDailyTable.today(clock);
    return database.systemQuery(dsl -> rollUp(dsl, today));
  }

  /** Rolls up the days due before {@code today}: the counts of days and of rows written. */
  static Map<String, Long> rollUp(DSLContext dsl, LocalDate today) {
    return dsl.transactionResult(tx -> {
      DSLContext t = tx.dsl();
      // Two runs at once (a schedule and a manual trigger) take turns.
      t.fetch("select pg_advisory_xact_lock(hashtext('usage-daily'))");
      LocalDate yesterday = today.minusDays(1);
      LocalDate from = firstDay(t, today);
      t.deleteFrom(USAGE_DAILY).where(DAY.between(from, yesterday)).execute();
      List<Field<?>> groups = List.of(EVENT_DAY, TENANT_ID, ACCOUNT_ID, USER_ID, KEY_ID, MODEL);
      List<SelectField<?>> select = new ArrayList<>(groups);
      select.addAll(UsageDailyTable.eventFigures());
      int rows = t.insertInto(USAGE_DAILY).columns(UsageDailyTable.COLUMNS)
          .select(t.select(select).from(USAGE_EVENTS)
              .where(CREATED_AT.ge(startOf(from))).and(CREATED_AT.lt(startOf(today)))
              .groupBy(groups))
          .execute();
      return Map.of("days", ChronoUnit.DAYS.between(from, today), "rows", (long) rows);
    });
  }

  /** The first day to roll up: the last one rolled up (or the earliest row's), at the latest the recheck's first. */
  private static LocalDate firstDay(DSLContext t, LocalDate today) {
    LocalDate recheck = today.minusDays(RECHECK_DAYS);
    LocalDate last = t.select(DSL.max(DAY)).from(USAGE_DAILY).fetchOne(0, LocalDate.class);
    if (last == null) {
      OffsetDateTime earliest = t.select(DSL.min(CREATED_AT)).from(USAGE_EVENTS)
          .where(CREATED_AT.lt(startOf(today))).fetchOne(0, OffsetDateTime.class);
      last = earliest == null ? null : earliest.atZoneSameInstant(ZoneOffset.UTC).toLocalDate();
    }
    return last == null || last.isAfter(recheck) ? recheck : last;
  }
}
