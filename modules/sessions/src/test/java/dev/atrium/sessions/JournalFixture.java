package dev.atrium.sessions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A small ChatSession journal written by an earlier version of the code (the commit is in
 * the file), with what that version answered about each session and the chat_sessions rows
 * its projection wrote. A test loads the rows into a fresh database and checks that
 * today's entity and projection read that history the same way.
 *
 * <p>Deliberately blind to ChatSession's classes, whose shape is what changes: journal
 * rows are rows, the expected answers plain JSON (snake_case, timestamps ISO-8601,
 * integers as longs: compare a view built by today's code after {@link #normalized}).
 */
final class JournalFixture {
  static final String V1 = "/fixtures/chat-session-journal-v1.json";
  /** Written by {@code e9a092a}: messages of six members, before {@code ChatMessage.cacheControl}. */
  static final String V2 = "/fixtures/chat-session-journal-v2.json";

  /** Every integer a long, so parsed expectations equal nodes built with {@code put(name, long)}. */
  private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_LONG_FOR_INTS);

  /** How the old entity was configured for one session; the replay must use the same. */
  record Policy(int contextWindowTokens, int maxHistoryMessages, Duration idleExpiry, Duration turnLease) {}

  /**
   * One recorded session. {@code callerKeyId}: the key to ask as (null: the tenant's admin).
   * {@code clock}: the time the answers were taken; ask at that time, or idle expiry and
   * lease checks write new events. {@code view}: the GetSession answer ({@code found}
   * false for a closed or expired session); {@code messages}: the full GetMessages page;
   * {@code replays}: Idempotency-Keys sent again and the turn the old code replayed.
   */
  record Session(String tenantId, String sessionId, String callerKeyId, Policy policy, Instant clock,
      String story, JsonNode view, JsonNode messages, JsonNode replays) {
    String entityId() {
      return tenantId + ":" + sessionId;
    }

    String persistenceId() {
      return "ChatSession|" + entityId();
    }

    /** The caller to ask as: the owner key, or the tenant's admin. */
    Caller caller() {
      return callerKeyId == null ? Caller.admin(tenantId) : Caller.of(tenantId, Owner.key(callerKeyId));
    }
  }

  private record Column(String name, int sqlType) {}

  private static final List<Column> JOURNAL = List.of(
      new Column("ordering", Types.BIGINT), new Column("persistence_id", Types.VARCHAR),
      new Column("sequence_number", Types.BIGINT), new Column("deleted", Types.BOOLEAN),
      new Column("writer", Types.VARCHAR), new Column("write_timestamp", Types.BIGINT),
      new Column("adapter_manifest", Types.VARCHAR), new Column("event_ser_id", Types.INTEGER),
      new Column("event_ser_manifest", Types.VARCHAR), new Column("event_payload", Types.BINARY),
      new Column("meta_ser_id", Types.INTEGER), new Column("meta_ser_manifest", Types.VARCHAR),
      new Column("meta_payload", Types.BINARY));

  private static final List<Column> TAGS = List.of(
      new Column("event_id", Types.BIGINT), new Column("tag", Types.VARCHAR));

  private static final List<Column> SNAPSHOTS = List.of(
      new Column("persistence_id", Types.VARCHAR), new Column("sequence_number", Types.BIGINT),
      new Column("created", Types.BIGINT), new Column("snapshot_ser_id", Types.INTEGER),
      new Column("snapshot_ser_manifest", Types.VARCHAR), new Column("snapshot_payload", Types.BINARY),
      new Column("meta_ser_id", Types.INTEGER), new Column("meta_ser_manifest", Types.VARCHAR),
      new Column("meta_payload", Types.BINARY));

  private final JsonNode root;

  private JournalFixture(JsonNode root) {
    this.root = root;
  }

  /** The journal of today's main before messages changed shape. */
  static JournalFixture v1() {
    return resource(V1);
  }

  /** The journal of the main before messages gained their prompt-caching hint. */
  static JournalFixture v2() {
    return resource(V2);
  }

  private static JournalFixture resource(String path) {
    try (InputStream in = JournalFixture.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException(path + " is not on the test classpath");
      }
      return read(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JournalFixture read(InputStream in) throws IOException {
    return new JournalFixture(JSON.readTree(in));
  }

  /** The whole file, for anything the accessors below leave out. */
  JsonNode root() {
    return root;
  }

  String baselineCommit() {
    return root.path("baseline_commit").asText();
  }

  List<Session> sessions() {
    List<Session> sessions = new ArrayList<>();
    for (JsonNode s : root.path("sessions")) {
      JsonNode p = s.path("policy");
      Policy policy = new Policy(p.path("context_window_tokens").asInt(), p.path("max_history_messages").asInt(),
          Duration.parse(p.path("idle_expiry").asText()), Duration.parse(p.path("turn_lease").asText()));
      JsonNode expected = s.path("expected");
      sessions.add(new Session(s.path("tenant_id").asText(), s.path("session_id").asText(),
          s.path("caller").path("key_id").isNull() ? null : s.path("caller").path("key_id").asText(), policy,
          Instant.parse(s.path("clock").asText()), s.path("story").asText(), keyOwners(expected.path("session")),
          expected.path("messages"), expected.path("idempotent_replays")));
    }
    return sessions;
  }

  Session session(String tenantId, String sessionId) {
    return sessions().stream().filter(s -> s.tenantId().equals(tenantId) && s.sessionId().equals(sessionId))
        .findFirst().orElseThrow(() -> new IllegalArgumentException("no session " + tenantId + ":" + sessionId));
  }

  /** The chat_sessions rows the old projection wrote, in {@link #chatSessionRows} form. */
  ArrayNode chatSessions() {
    ArrayNode rows = ((ArrayNode) root.path("chat_sessions")).deepCopy();
    for (JsonNode row : rows) {
      ObjectNode r = (ObjectNode) row;
      JsonNode keyId = r.remove("owner_key_id");
      r.put("owner_kind", keyId == null || keyId.isNull() ? null : "key");
      r.set("owner_id", keyId == null ? r.nullNode() : keyId);
    }
    return rows;
  }

  /**
   * An expected view as today's code shows it: these fixtures were written when a session's
   * owner was a key id ({@code meta.owner_key_id}); today that key is its owner
   * ({@code meta.owner: {kind: "key", id}}), read so by {@link SessionMigration}.
   */
  static JsonNode keyOwners(JsonNode view) {
    JsonNode copy = view.deepCopy();
    if (copy.path("meta") instanceof ObjectNode meta && meta.has("owner_key_id")) {
      JsonNode keyId = meta.remove("owner_key_id");
      if (keyId.isTextual()) {
        meta.putObject("owner").put("kind", "key").put("id", keyId.textValue());
      } else {
        meta.putNull("owner");
      }
    }
    return copy;
  }

  long maxOrdering() {
    long max = 0;
    for (JsonNode row : root.path("event_journal")) {
      max = Math.max(max, row.path("ordering").asLong());
    }
    return max;
  }

  /** Writes the journal, tag and snapshot rows into a fresh, migrated database (as its owner). */
  void load(DatabaseSettings db) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      load(c);
    }
  }

  void load(Connection c) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      insert(c, "event_journal", JOURNAL, root.path("event_journal"));
      insert(c, "event_tag", TAGS, root.path("event_tag"));
      insert(c, "snapshot", SNAPSHOTS, root.path("snapshot"));
      // The rows keep their ordering; new events must come after them.
      try (var st = c.createStatement()) {
        st.execute("select setval(pg_get_serial_sequence('event_journal', 'ordering'), "
            + "(select coalesce(max(ordering), 0) + 1 from event_journal), false)");
      }
      c.commit();
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }

  private static void insert(Connection c, String table, List<Column> columns, JsonNode rows) throws SQLException {
    String names = String.join(", ", columns.stream().map(Column::name).toList());
    String marks = String.join(", ", columns.stream().map(col -> "?").toList());
    try (PreparedStatement st = c.prepareStatement("insert into " + table + " (" + names + ") values (" + marks + ")")) {
      for (JsonNode row : rows) {
        for (int i = 0; i < columns.size(); i++) {
          Column col = columns.get(i);
          JsonNode value = row.path(col.name());
          if (value.isMissingNode() || value.isNull()) {
            st.setNull(i + 1, col.sqlType());
          } else {
            switch (col.sqlType()) {
              case Types.BIGINT -> st.setLong(i + 1, value.asLong());
              case Types.INTEGER -> st.setInt(i + 1, value.asInt());
              case Types.BOOLEAN -> st.setBoolean(i + 1, value.asBoolean());
              case Types.BINARY -> st.setBytes(i + 1, bytes(value.asText(), row.path(col.name() + "_encoding").asText()));
              default -> st.setString(i + 1, value.asText());
            }
          }
        }
        st.addBatch();
      }
      st.executeBatch();
    }
  }

  /** The node as this class reads JSON (integers as longs), for {@code equals} against the fixture. */
  static JsonNode normalized(JsonNode node) {
    try {
      return JSON.readTree(JSON.writeValueAsBytes(node));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A bytea column as the file holds it: the UTF-8 text of a JSON payload, or base64. */
  static byte[] bytes(String text, String encoding) {
    return switch (encoding) {
      case "utf8" -> text.getBytes(StandardCharsets.UTF_8);
      case "base64" -> Base64.getDecoder().decode(text);
      default -> throw new IllegalArgumentException("unknown payload encoding '" + encoding + "'");
    };
  }

  /** Today's chat_sessions rows (as the system role, past row-level security), in the fixture's form. */
  static ArrayNode chatSessionRows(DatabaseSettings db) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      return chatSessionRows(c);
    }
  }

  /** Every column, by name; timestamps as ISO-8601 instants (UTC), ordered by tenant and session. */
  static ArrayNode chatSessionRows(Connection c) throws SQLException {
    ArrayNode rows = JsonNodeFactory.instance.arrayNode();
    try (var st = c.createStatement();
         ResultSet rs = st.executeQuery("select * from chat_sessions order by tenant_id, session_id")) {
      ResultSetMetaData meta = rs.getMetaData();
      while (rs.next()) {
        ObjectNode row = rows.addObject();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          String name = meta.getColumnName(i);
          if (rs.getObject(i) == null) {
            row.putNull(name);
            continue;
          }
          switch (meta.getColumnType(i)) {
            case Types.INTEGER, Types.BIGINT, Types.SMALLINT -> row.put(name, rs.getLong(i));
            case Types.BOOLEAN, Types.BIT -> row.put(name, rs.getBoolean(i));
            case Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE ->
                row.put(name, rs.getObject(i, OffsetDateTime.class).toInstant().toString());
            default -> row.put(name, rs.getString(i));
          }
        }
      }
    }
    return (ArrayNode) normalized(rows);
  }
}
