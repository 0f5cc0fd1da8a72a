package dev.atrium.core.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables.JournalPekkoSerializationRow;
import org.junit.jupiter.api.Test;

/**
 * The read journal's eventsByTag query with the range on event_tag returns what
 * pekko-persistence-jdbc 1.1.1's own query returns (its SQL as PostgreSQL logged it),
 * row for row, for every tag and range, deleted events, events of several tags and
 * gaps in the ordering included.
 */
class TagRangeReadJournalDaoTest {
  /** pekko-persistence-jdbc 1.1.1's eventsByTag, as Slick renders it for PostgreSQL. */
  static final String PLUGINS_QUERY = "select x2.x3, x2.x4, x2.x5, x2.x6, x2.x7, x2.x8, x2.x9, x2.x10, x2.x11, x2.x12, "
      + "x2.x13, x2.x14, x2.x15 from (select \"deleted\" as x4, \"meta_ser_id\" as x14, \"meta_ser_manifest\" as x15, "
      + "\"sequence_number\" as x6, \"writer\" as x7, \"event_ser_manifest\" as x12, \"write_timestamp\" as x8, "
      + "\"persistence_id\" as x5, \"adapter_manifest\" as x9, \"ordering\" as x3, \"event_payload\" as x10, "
      + "\"event_ser_id\" as x11, \"meta_payload\" as x13 from \"event_journal\" where \"deleted\" = false) x2, "
      + "\"event_tag\" x16 where ((x16.\"tag\" = ?) and ((x2.x3 > ?) and (x2.x3 <= ?))) and (x2.x3 = x16.\"event_id\") "
      + "order by x2.x3 limit ?";

  static List<String> plugins(Connection c, String tag, long offset, long maxOffset, long max) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (PreparedStatement st = c.prepareStatement(PLUGINS_QUERY)) {
      st.setString(1, tag);
      st.setLong(2, offset);
      st.setLong(3, maxOffset);
      st.setLong(4, max);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          // Columns in the plugin's order: ordering, deleted, persistence_id, sequence_number, writer, ...
          rows.add(rs.getLong(1) + "|" + rs.getString(3) + "|" + rs.getLong(4) + "|" + rs.getString(5) + "|"
              + rs.getLong(6) + "|" + rs.getString(7) + "|" + new String(rs.getBytes(8)) + "|" + rs.getInt(9) + "|"
              + rs.getString(10) + "|" + rs.getObject(12) + "|" + rs.getString(13));
        }
      }
    }
    return rows;
  }

  static List<String> ours(Connection c, String tag, long offset, long maxOffset, long max) {
    List<String> rows = new ArrayList<>();
    for (JournalPekkoSerializationRow r : TagRangeReadJournalDao.rows(c, tag, offset, maxOffset, max)) {
      rows.add(r.ordering() + "|" + r.persistenceId() + "|" + r.sequenceNumber() + "|" + r.writer() + "|"
          + r.writeTimestamp() + "|" + r.adapterManifest() + "|" + new String(r.eventPayload()) + "|" + r.eventSerId()
          + "|" + r.eventSerManifest() + "|" + (r.metaSerId().isEmpty() ? null : r.metaSerId().get()) + "|"
          + (r.metaSerManifest().isEmpty() ? null : r.metaSerManifest().get()));
    }
    return rows;
  }

  @Test
  void returnsThePluginsRowsForEveryTagAndRange() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("tag_range_dao");
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
         Statement st = c.createStatement()) {
      // 300 events with gaps (every 7th ordering missing), every 13th deleted, some with meta.
      st.execute("insert into event_journal (ordering, persistence_id, sequence_number, deleted, writer, write_timestamp, "
          + "adapter_manifest, event_ser_id, event_ser_manifest, event_payload, meta_ser_id, meta_ser_manifest, meta_payload) "
          + "select g, 'p-' || (g % 17), g, g % 13 = 0, 'w-' || (g % 3), 1000 + g, case when g % 5 = 0 then 'am' end, "
          + "33, 'm' || (g % 4), convert_to('event ' || g, 'UTF8'), case when g % 11 = 0 then 7 end, "
          + "case when g % 11 = 0 then 'meta' end, case when g % 11 = 0 then '\\x01'::bytea end "
          + "from generate_series(1, 300) g where g % 7 <> 0");
      st.execute("insert into event_tag select ordering, 'a-' || (ordering % 3) from event_journal");
      st.execute("insert into event_tag select ordering, 'b' from event_journal where ordering % 4 = 0");

      for (String tag : List.of("a-0", "a-1", "a-2", "b", "none")) {
        for (long[] range : new long[][] {{0, 300, 500}, {0, 300, 10}, {41, 42, 500}, {42, 97, 5}, {100, 250, 500},
            {299, 300, 500}, {300, 300, 500}, {0, 0, 500}}) {
          assertThat(ours(c, tag, range[0], range[1], range[2]))
              .as("%s (%d, %d] limit %d", tag, range[0], range[1], range[2])
              .isEqualTo(plugins(c, tag, range[0], range[1], range[2]));
        }
      }
      assertThat(ours(c, "b", 0, 300, 500)).hasSize(plugins(c, "b", 0, 300, 500).size()).isNotEmpty();
    }
  }
}
