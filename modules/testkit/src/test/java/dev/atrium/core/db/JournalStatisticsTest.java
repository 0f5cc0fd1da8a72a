package dev.atrium.core.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * {@code atrium_refresh_journal_statistics()} (V10), as the system role calls it: it
 * analyses the journal's tables once they have doubled since their last analysis,
 * and does nothing otherwise.
 */
class JournalStatisticsTest {

  static int refresh(Connection system) throws SQLException {
    try (Statement st = system.createStatement();
         ResultSet rs = st.executeQuery("select atrium_refresh_journal_statistics()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  static void append(Connection system, int from, int count) throws SQLException {
    try (Statement st = system.createStatement()) {
      st.execute("insert into event_journal (ordering, persistence_id, sequence_number, writer, event_ser_id, "
          + "event_ser_manifest, event_payload) select g, 'p' || g, 1, 'w', 1, 'm', '\\x00' "
          + "from generate_series(" + from + ", " + (from + count - 1) + ") g");
      st.execute("insert into event_tag select g, 'tag-' || (g % 10) from generate_series(" + from + ", "
          + (from + count - 1) + ") g");
      // The activity counters the function reads reach the shared statistics when a backend flushes them.
      st.execute("select pg_stat_force_next_flush()");
    }
  }

  /** Tables analysed since the statistics were reset: polls until the counters have arrived. */
  static int refreshWhenCounted(Connection system, int expected) throws Exception {
    int analysed = 0;
    for (int i = 0; i < 50 && analysed < expected; i++) {
      analysed += refresh(system);
      if (analysed < expected) {
        Thread.sleep(100);
      }
    }
    return analysed;
  }

  static long analyses(Connection system) throws SQLException {
    try (Statement st = system.createStatement();
         ResultSet rs = st.executeQuery("select sum(analyze_count) from pg_stat_user_tables "
             + "where relname in ('event_journal', 'event_tag')")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void analysesTheJournalWhenItHasDoubledAndOnlyThen() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("journal_statistics");
    try (Connection owner = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
         Statement st = owner.createStatement()) {
      // Autovacuum must not analyse them first, which would leave this nothing to do.
      st.execute("alter table event_journal set (autovacuum_enabled = false)");
      st.execute("alter table event_tag set (autovacuum_enabled = false)");
    }
    try (Connection system = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      system.setAutoCommit(true);
      assertThat(refresh(system)).isZero();

      append(system, 1, 1000);
      assertThat(refreshWhenCounted(system, 2)).isEqualTo(2);
      long analysed = analyses(system);
      assertThat(analysed).isGreaterThanOrEqualTo(2);

      // 1,000 rows analysed: 600 more is not double.
      append(system, 1001, 600);
      Thread.sleep(1500);
      assertThat(refresh(system)).isZero();

      append(system, 1601, 400);
      assertThat(refreshWhenCounted(system, 2)).isEqualTo(2);
      assertThat(analyses(system)).isGreaterThanOrEqualTo(analysed + 2);
    }
  }
}
