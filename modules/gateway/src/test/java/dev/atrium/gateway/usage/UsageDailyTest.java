package dev.atrium.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The usage-daily roll-up and the usage report on a real PostgreSQL: figures per group and
 * day, a second run that changes nothing, late rows, missed days, the days not rolled up yet
 * read from usage_events, and what the service role may see and do.
 */
class UsageDailyTest {
  static final LocalDate TODAY = LocalDate.parse("2026-11-20");
  static final LocalDate YESTERDAY = TODAY.minusDays(1);
  static final LocalDate BEFORE = TODAY.minusDays(2);

  /** A usage_events row of {@code tenant} at {@code at}. */
  static UsageTable.Row event(String tenant, String account, String key, String model, String at, int in, int out,
      int cached, Long cost, int totalMs) {
    var context = new UsageContext(tenant, account, null, key, "req_" + UUID.randomUUID(), null, null, null,
        "completions", "PAID", false);
    return new UsageTable.Row(UUID.randomUUID(), new UsageRecord(Instant.parse(at), context, UsageRecord.CHAT,
        "openai:up", model, model + "-upstream", in, out, cached, false, null, null, null, null, cost, 5, totalMs,
        UsageStatus.OK, false, null));
  }

  static Connection system(DatabaseSettings db) throws SQLException {
    return DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
  }

  static void insert(DatabaseSettings db, UsageTable.Row... rows) throws SQLException {
    try (Connection c = system(db)) {
      UsageTable.insert(Database.dsl(c), List.of(rows));
    }
  }

  static Map<String, Long> rollUp(DatabaseSettings db, LocalDate today) throws SQLException {
    try (Connection c = system(db)) {
      return UsageDailyJob.rollUp(Database.dsl(c), today);
    }
  }

  /** usage_daily as "day tenant account key model: requests in out cached cost unpriced ms", in order. */
  static List<String> daily(DatabaseSettings db) throws SQLException {
    try (Connection c = system(db); ResultSet rs = c.createStatement().executeQuery(
        "select * from usage_daily order by day, tenant_id, account_id, key_id, model")) {
      List<String> rows = new ArrayList<>();
      while (rs.next()) {
        rows.add(rs.getString("day") + " " + rs.getString("tenant_id") + " " + rs.getString("account_id") + " "
            + rs.getString("key_id") + " " + rs.getString("model") + ": " + rs.getLong("requests") + " "
            + rs.getLong("tokens_in") + " " + rs.getLong("tokens_out") + " " + rs.getLong("cached_tokens_in") + " "
            + rs.getLong("cost_micro_usd") + " " + rs.getLong("unpriced_requests") + " " + rs.getLong("compute_ms"));
      }
      return rows;
    }
  }

  static DatabaseSettings withTwoDaysOfTwoTenants() throws SQLException {
    DatabaseSettings db = TestDatabase.fresh("usage_daily");
    insert(db,
        event("t1", "a1", "k1", "m1", "2026-11-18T00:00:00Z", 10, 5, 1, 100L, 20),
        event("t1", "a1", "k1", "m1", "2026-11-18T23:59:59.999Z", 20, 6, 0, 200L, 30),
        event("t1", "a1", "k1", "m2", "2026-11-18T12:00:00Z", 1, 1, 0, null, 7),
        event("t1", null, "k2", "m1", "2026-11-19T08:00:00Z", 3, 4, 2, 50L, 9),
        event("t2", "b1", "k9", "m1", "2026-11-19T09:00:00Z", 100, 50, 0, 1000L, 40),
        // today: not complete, not rolled up
        event("t1", "a1", "k1", "m1", "2026-11-20T00:00:00Z", 7, 7, 7, 70L, 7));
    return db;
  }

  @Test
  void aRollUpSumsEachGroupOfEachCompleteDayAndLeavesTodayOut() throws SQLException {
    DatabaseSettings db = withTwoDaysOfTwoTenants();
    assertThat(rollUp(db, TODAY)).containsEntry("days", 2L).containsEntry("rows", 4L);
    assertThat(daily(db)).containsExactly(
        "2026-11-18 t1 a1 k1 m1: 2 30 11 1 300 0 50",
        // an unpriced call adds no cost and is counted
        "2026-11-18 t1 a1 k1 m2: 1 1 1 0 0 1 7",
        "2026-11-19 t1 null k2 m1: 1 3 4 2 50 0 9",
        "2026-11-19 t2 b1 k9 m1: 1 100 50 0 1000 0 40");
  }

  @Test
  void aSecondRunGivesTheSameFiguresAndALateRowJoinsItsDayAtTheNextRun() throws SQLException {
    DatabaseSettings db = withTwoDaysOfTwoTenants();
    rollUp(db, TODAY);
    List<String> once = daily(db);
    assertThat(rollUp(db, TODAY)).containsEntry("rows", 4L);
    assertThat(daily(db)).isEqualTo(once);

    // A stream that began yesterday before midnight is recorded after the roll-up.
    insert(db, event("t2", "b1", "k9", "m1", "2026-11-19T23:59:00Z", 1, 2, 0, 10L, 600_000));
    rollUp(db, TODAY);
    assertThat(daily(db)).contains("2026-11-19 t2 b1 k9 m1: 2 101 52 0 1010 0 600040").hasSize(4);
  }

  @Test
  void daysMissedWhileNoRunHappenedAreRolledUpFromTheLastDayRolledUp() throws SQLException {
    DatabaseSettings db = withTwoDaysOfTwoTenants();
    rollUp(db, TODAY);
    insert(db,
        event("t1", "a1", "k1", "m1", "2026-11-21T10:00:00Z", 1, 1, 0, 1L, 1),
        event("t1", "a1", "k1", "m1", "2026-11-23T10:00:00Z", 2, 2, 0, 2L, 2));
    // No run for five days: the next one rolls up 19th to 24th (the 19th is the last rolled).
    assertThat(rollUp(db, TODAY.plusDays(5))).containsEntry("days", 6L).containsEntry("rows", 5L);
    assertThat(daily(db)).contains(
        "2026-11-20 t1 a1 k1 m1: 1 7 7 7 70 0 7",
        "2026-11-21 t1 a1 k1 m1: 1 1 1 0 1 0 1",
        "2026-11-23 t1 a1 k1 m1: 1 2 2 0 2 0 2").hasSize(7);
  }

  @Test
  void callsOnCallersOwnKeysAreCountedButTheirCostIsTheCallersNotTheTenants() throws SQLException {
    DatabaseSettings db = TestDatabase.fresh("usage_daily_byo");
    UsageTable.Row own = event("t1", "a1", "k1", "m1", "2026-11-19T10:00:00Z", 10, 5, 0, 100L, 20);
    UsageTable.Row byo = event("t1", "a1", "k1", "m1", "2026-11-19T11:00:00Z", 20, 6, 0, 300L, 30);
    UsageRecord paidByCaller = byo.record();
    byo = new UsageTable.Row(byo.id(), new UsageRecord(paidByCaller.at(), paidByCaller.context().withByo(true),
        paidByCaller.operation(), paidByCaller.provider(), paidByCaller.model(), paidByCaller.upstreamModel(),
        paidByCaller.tokensIn(), paidByCaller.tokensOut(), paidByCaller.cachedTokensIn(), false, null, null, null, null,
        paidByCaller.costMicroUsd(), 5, paidByCaller.totalMs(), UsageStatus.OK, false, null));
    insert(db, own, byo);
    rollUp(db, TODAY);
    // requests and tokens of both; the tenant's cost is its own call's
    assertThat(daily(db)).containsExactly("2026-11-19 t1 a1 k1 m1: 2 30 11 0 100 0 50");
    try (Connection c = system(db); ResultSet rs = c.createStatement().executeQuery(
        "select byo_requests, byo_cost_micro_usd from usage_daily")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getLong(1)).isEqualTo(1);
      assertThat(rs.getLong(2)).isEqualTo(300);
    }
    // The report says the same, from usage_daily and (today) from usage_events.
    insert(db, new UsageTable.Row(UUID.randomUUID(), new UsageRecord(Instant.parse("2026-11-20T01:00:00Z"),
        paidByCaller.context().withByo(true), UsageRecord.CHAT, "openai:up", "m1", "m1-upstream", 1, 1, 0, false,
        null, null, null, null, 7L, 5, 1, UsageStatus.OK, false, null)));
    assertThat(report(db, "t1", null, YESTERDAY, TODAY, UsageReport.GroupBy.DAY))
        .extracting(UsageReport.Row::figures).containsExactly(
            new UsageReport.Figures(2, 30, 11, 0, 100, 0, 1, 300, 50),
            new UsageReport.Figures(1, 1, 1, 0, 0, 0, 1, 7, 1));
  }

  @Test
  void theFirstRunOnAnEmptyTableRollsUpNothing() throws SQLException {
    DatabaseSettings db = TestDatabase.fresh("usage_daily_empty");
    assertThat(rollUp(db, TODAY)).containsEntry("days", 2L).containsEntry("rows", 0L);
    assertThat(daily(db)).isEmpty();
  }

  /** The report as the service role under row-level security for {@code tenant}. */
  static List<UsageReport.Row> report(DatabaseSettings db, String tenant, String account, LocalDate from,
      LocalDate to, UsageReport.GroupBy groupBy) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword())) {
      c.setAutoCommit(false);
      c.createStatement().execute("select set_config('atrium.tenant_id', '" + tenant + "', true)");
      var rows = UsageQueries.rows(Database.dsl(c), tenant, account, new UsageReport.Range(from, to), groupBy);
      c.rollback();
      return rows;
    }
  }

  static UsageReport.Figures figures(long requests, long in, long out, long cached, long cost, long unpriced, long ms) {
    return new UsageReport.Figures(requests, in, out, cached, cost, unpriced, 0, 0, ms);
  }

  @Test
  void aReportReadsRolledUpDaysFromUsageDailyAndTheOthersFromUsageEventsWithoutCountingAnyTwice()
      throws SQLException {
    DatabaseSettings db = withTwoDaysOfTwoTenants();
    // Before any roll-up every day comes from usage_events.
    List<UsageReport.Row> before = report(db, "t1", null, BEFORE, TODAY, UsageReport.GroupBy.DAY);
    rollUp(db, TODAY);
    List<UsageReport.Row> after = report(db, "t1", null, BEFORE, TODAY, UsageReport.GroupBy.DAY);
    assertThat(after).isEqualTo(before).containsExactly(
        new UsageReport.DayRow(BEFORE, figures(3, 31, 12, 1, 300, 1, 57)),
        new UsageReport.DayRow(YESTERDAY, figures(1, 3, 4, 2, 50, 0, 9)),
        new UsageReport.DayRow(TODAY, figures(1, 7, 7, 7, 70, 0, 7)));

    assertThat(report(db, "t1", null, BEFORE, TODAY, UsageReport.GroupBy.MODEL)).containsExactly(
        new UsageReport.ModelRow("m1", figures(4, 40, 22, 10, 420, 0, 66)),
        new UsageReport.ModelRow("m2", figures(1, 1, 1, 0, 0, 1, 7)));
    assertThat(report(db, "t1", null, BEFORE, TODAY, UsageReport.GroupBy.KEY)).containsExactly(
        new UsageReport.KeyRow("k1", figures(4, 38, 19, 8, 370, 1, 64)),
        new UsageReport.KeyRow("k2", figures(1, 3, 4, 2, 50, 0, 9)));
    // One account's usage; a range of one day.
    assertThat(report(db, "t1", "a1", YESTERDAY, TODAY, UsageReport.GroupBy.DAY)).containsExactly(
        new UsageReport.DayRow(TODAY, figures(1, 7, 7, 7, 70, 0, 7)));
    assertThat(report(db, "t2", null, BEFORE, TODAY, UsageReport.GroupBy.DAY)).containsExactly(
        new UsageReport.DayRow(YESTERDAY, figures(1, 100, 50, 0, 1000, 0, 40)));
  }

  @Test
  void theServiceRoleSeesOnlyItsTenantsDaysAndCannotWriteThem() throws SQLException {
    DatabaseSettings db = withTwoDaysOfTwoTenants();
    rollUp(db, TODAY);
    try (Connection service = DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword())) {
      service.setAutoCommit(false);
      service.createStatement().execute("select set_config('atrium.tenant_id', 't2', true)");
      ResultSet rs = service.createStatement().executeQuery("select count(*), min(tenant_id) from usage_daily");
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(1);
      assertThat(rs.getString(2)).isEqualTo("t2");
      assertThatThrownBy(() -> service.createStatement().executeUpdate("delete from usage_daily"))
          .hasMessageContaining("permission denied");
      service.rollback();
    }
  }
}
