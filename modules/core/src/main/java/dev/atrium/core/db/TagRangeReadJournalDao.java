package dev.atrium.core.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.PekkoSerialization;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables.JournalPekkoSerializationRow;
import org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import scala.Option;
import scala.Tuple3;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;
import scala.util.Try;
import slick.dbio.DBIOAction;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.jdbc.SimpleJdbcAction;

/**
 * pekko-persistence-jdbc's read journal with one query changed: {@code eventsByTag} bounds
 * the range on {@code event_tag.event_id}, where the plugin (1.1.1) bounds it on
 * {@code event_journal.ordering} only (apache/pekko-persistence-jdbc#105; Akka's plugin
 * made the same change in akka/akka-persistence-jdbc#560). The two columns are equal in
 * the join, so the rows are the same; but PostgreSQL does not carry a range across a join,
 * so with the range on the journal side every poll of every projection read all events
 * written since its last poll (those of every tag) and looked each up in event_tag. With it
 * on the tag side a poll reads its tag's new rows from the {@code (tag, event_id)} index
 * (migration V9) and nothing else. Set as {@code jdbc-read-journal.dao}; everything else is
 * the plugin's. The tables and columns are those of migration V1.
 */
public final class TagRangeReadJournalDao extends DefaultReadJournalDao {
  static final String EVENTS_BY_TAG = """
      SELECT j.ordering, j.deleted, j.persistence_id, j.sequence_number, j.writer, j.write_timestamp,
             j.adapter_manifest, j.event_payload, j.event_ser_id, j.event_ser_manifest,
             j.meta_payload, j.meta_ser_id, j.meta_ser_manifest
        FROM event_tag t JOIN event_journal j ON j.ordering = t.event_id
       WHERE t.tag = ? AND t.event_id > ? AND t.event_id <= ? AND j.deleted = false
       ORDER BY t.event_id
       LIMIT ?""";

  private final Serialization serialization;

  public TagRangeReadJournalDao(JdbcBackend.JdbcDatabaseDef db, JdbcProfile profile, ReadJournalConfig config,
      Serialization serialization, ExecutionContext ec, Materializer mat) {
    super(db, profile, config, serialization, ec, mat);
    this.serialization = serialization;
  }

  @Override
  public org.apache.pekko.stream.scaladsl.Source<Try<Tuple3<PersistentRepr, scala.collection.immutable.Set<String>, Object>>, NotUsed>
      eventsByTag(String tag, long offset, long maxOffset, long max) {
    SimpleJdbcAction<List<JournalPekkoSerializationRow>> query =
        new SimpleJdbcAction<>(context -> rows(context.connection(), tag, offset, maxOffset, max));
    return Source.completionStage(FutureConverters.asJava(run(query)))
        .mapConcat(rows -> rows)
        // As the plugin's: the tags of an event are not read back.
        .map(row -> PekkoSerialization.fromRow(serialization, row)
            .map(read -> new Tuple3<>(read._1(), scala.collection.immutable.Set$.MODULE$.<String>empty(), read._2())))
        .asScala();
  }

  static List<JournalPekkoSerializationRow> rows(Connection connection, String tag, long offset, long maxOffset, long max) {
    List<JournalPekkoSerializationRow> rows = new ArrayList<>();
    try (PreparedStatement st = connection.prepareStatement(EVENTS_BY_TAG)) {
      st.setString(1, tag);
      st.setLong(2, offset);
      st.setLong(3, maxOffset);
      st.setLong(4, max);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          int metaSerId = rs.getInt(12);
          Option<Object> metaSer = rs.wasNull() ? Option.empty() : Option.apply(metaSerId);
          rows.add(new JournalPekkoSerializationRow(rs.getLong(1), rs.getBoolean(2), rs.getString(3), rs.getLong(4),
              rs.getString(5), rs.getLong(6), rs.getString(7), rs.getBytes(8), rs.getInt(9), rs.getString(10),
              Option.apply(rs.getBytes(11)), metaSer, Option.apply(rs.getString(13))));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("eventsByTag(" + tag + ", " + offset + ", " + maxOffset + ") failed", e);
    }
    return rows;
  }

  /** Slick's run is declared for Scala's Nothing as the effect bound, which Java cannot name: a raw call. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private <R> Future<R> run(SimpleJdbcAction<R> action) {
    return db().run((DBIOAction) action);
  }
}
