package dev.atrium.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** usage_events on a real PostgreSQL: the recorder's batch insert as the system role, and what the service role may do. */
class UsageTableTest {
  static DatabaseSettings db;

  @BeforeAll
  static void migrate() {
    db = TestDatabase.fresh("usage_table");
  }

  static UsageTable.Row row(String tenant) {
    var context = new UsageContext(tenant, "a1", null, "k", "req_" + UUID.randomUUID(), null, null, null, "completions",
        "PAID", false);
    UsageRecord record = UsageRecord.start(context, UsageRecord.CHAT, "openai:up", "mock", "mock-model")
        .end(UsageStatus.CANCELLED, new ChatEvent.Usage(12, 3, 4), true).withCost(42L);
    return new UsageTable.Row(UUID.randomUUID(), record);
  }

  static long count(Connection c, String where) throws SQLException {
    var rs = c.createStatement().executeQuery("select count(*) from usage_events where " + where);
    rs.next();
    return rs.getLong(1);
  }

  @Test
  void aRetriedBatchInsertsEachRowOnceWithEveryColumn() throws SQLException {
    List<UsageTable.Row> first = List.of(row("t1"), row("t1"), row("t2"));
    try (Connection system = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      UsageTable.insert(Database.dsl(system), first);
      // The same batch again (its acknowledgement was lost), with one more row.
      UsageTable.insert(Database.dsl(system), List.of(first.get(0), first.get(1), first.get(2), row("t2")));
      assertThat(count(system, "tenant_id in ('t1', 't2')")).isEqualTo(4);
      var rs = system.createStatement().executeQuery("select * from usage_events where usage_id = '"
          + first.get(0).id() + "'");
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString("tenant_id")).isEqualTo("t1");
      assertThat(rs.getString("request_id")).isEqualTo(first.get(0).record().context().requestId());
      assertThat(rs.getInt("tokens_in")).isEqualTo(12);
      assertThat(rs.getInt("tokens_out")).isEqualTo(3);
      assertThat(rs.getInt("cached_tokens_in")).isEqualTo(4);
      assertThat(rs.getBoolean("tokens_counted")).isTrue();
      assertThat(rs.getLong("cost_micro_usd")).isEqualTo(42);
      assertThat(rs.getString("status")).isEqualTo("cancelled");
      assertThat(rs.getString("operation")).isEqualTo("chat");
      assertThat(rs.getTimestamp("created_at")).isNotNull();
    }
  }

  @Test
  void aFullBatchWithNullColumnsLandsWhole() throws SQLException {
    var bare = new UsageContext("t3", null, null, null, null, "run_1", "answer/2", null, "runs", null, true);
    List<UsageTable.Row> rows = new java.util.ArrayList<>();
    for (int i = 0; i < 500; i++) {
      UsageRecord record = UsageRecord.start(bare, UsageRecord.RUN_PROMPT, "local", "local", "local")
          .end(UsageStatus.OK, new ChatEvent.Usage(i, 0), false);
      rows.add(new UsageTable.Row(UUID.randomUUID(), i % 2 == 0 ? record : record.withCost((long) i)));
    }
    try (Connection system = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      UsageTable.insert(Database.dsl(system), rows);
      assertThat(count(system, "tenant_id = 't3'")).isEqualTo(500);
      assertThat(count(system, "tenant_id = 't3' and cost_micro_usd is null")).isEqualTo(250);
      assertThat(count(system, "tenant_id = 't3' and account_id is null and key_id is null and request_id is null"
          + " and first_token_ms is null and tier is null and byo and run_id = 'run_1' and step = 'answer/2'"))
          .isEqualTo(500);
      var rs = system.createStatement().executeQuery(
          "select sum(tokens_in), sum(cost_micro_usd) from usage_events where tenant_id = 't3'");
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(499L * 500 / 2);
      assertThat(rs.getLong(2)).isEqualTo(250L * 250);
    }
  }

  @Test
  void theServiceRoleSeesOnlyItsTenantsRowsAndCannotRewriteThem() throws SQLException {
    try (Connection system = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      UsageTable.insert(Database.dsl(system), List.of(row("own"), row("other")));
    }
    try (Connection service = DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword())) {
      service.setAutoCommit(false);
      service.createStatement().execute("select set_config('atrium.tenant_id', 'own', true)");
      assertThat(count(service, "true")).isEqualTo(1);
      assertThat(count(service, "tenant_id = 'other'")).isZero();
      assertThatThrownBy(() -> service.createStatement().executeUpdate("update usage_events set tokens_in = 0"))
          .hasMessageContaining("permission denied");
      service.rollback();
    }
  }
}
