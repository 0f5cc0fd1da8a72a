package dev.atrium.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * What the node's PostgreSQL spent its time on during one window, from
 * {@code pg_stat_statements}: available when the node's embedded PostgreSQL was started with
 * it preloaded ({@code ATRIUM_EMBEDDED_POSTGRES_SETTINGS}, see
 * {@code dev.atrium.core.db.EmbeddedDatabase}). Statements are grouped by what issues them
 * (the journal's writes, the projections' polls, their row and offset writes, commits), as
 * time per persisted turn. Execution time is wall time inside PostgreSQL: for statements
 * that read and write cached pages it is close to CPU; a commit's includes its WAL flush.
 */
final class StatementStats implements AutoCloseable {
  static final String PRELOAD_HINT = "ATRIUM_EMBEDDED_POSTGRES_SETTINGS="
      + "'shared_preload_libraries=pg_stat_statements;pg_stat_statements.track_planning=on'";

  /** One group of statements over one window. */
  record Group(String name, long calls, double execMs, double planMs, long rows, long blocksHit, long blocksRead,
      String example) {}

  private final Connection owner;

  private StatementStats(Connection owner) {
    this.owner = owner;
  }

  /** Statistics of the node's database when pg_stat_statements is preloaded, else empty (and why, printed). */
  static Optional<StatementStats> open(int port) {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("ApplicationName", "atrium-bench");
    try {
      Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/atrium", p);
      c.setAutoCommit(true);
      try (Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT current_setting('shared_preload_libraries')")) {
        rs.next();
        if (!rs.getString(1).contains("pg_stat_statements")) {
          c.close();
          System.out.println("PostgreSQL statement statistics: off (set " + PRELOAD_HINT + " to see them)");
          return Optional.empty();
        }
        st.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      }
      return Optional.of(new StatementStats(c));
    } catch (SQLException e) {
      System.out.println("PostgreSQL statement statistics: unavailable (" + e.getMessage() + ")");
      return Optional.empty();
    }
  }

  void reset() {
    try (Statement st = owner.createStatement()) {
      st.execute("SELECT pg_stat_statements_reset()");
    } catch (SQLException e) {
      throw new IllegalStateException("pg_stat_statements_reset failed: " + e.getMessage(), e);
    }
  }

  /** The groups since the last reset, largest execution time first. */
  List<Group> read() {
    Map<String, long[]> counts = new LinkedHashMap<>();
    Map<String, double[]> times = new LinkedHashMap<>();
    Map<String, String> examples = new LinkedHashMap<>();
    String sql = "SELECT query, calls, total_exec_time, total_plan_time, rows, shared_blks_hit, shared_blks_read "
        + "FROM pg_stat_statements "
        + "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        + "AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC";
    try (Statement st = owner.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        String query = rs.getString(1);
        String group = group(query);
        long[] c = counts.computeIfAbsent(group, g -> new long[4]);
        c[0] += rs.getLong(2);
        c[1] += rs.getLong(5);
        c[2] += rs.getLong(6);
        c[3] += rs.getLong(7);
        double[] t = times.computeIfAbsent(group, g -> new double[2]);
        t[0] += rs.getDouble(3);
        t[1] += rs.getDouble(4);
        examples.putIfAbsent(group, query.replaceAll("\\s+", " "));
      }
    } catch (SQLException e) {
      throw new IllegalStateException("reading pg_stat_statements failed: " + e.getMessage(), e);
    }
    List<Group> groups = new ArrayList<>();
    counts.forEach((name, c) -> groups.add(new Group(name, c[0], times.get(name)[0], times.get(name)[1], c[1], c[2], c[3],
        examples.get(name))));
    groups.sort((a, b) -> Double.compare(b.execMs() + b.planMs(), a.execMs() + a.planMs()));
    return groups;
  }

  /** Who issues a statement, from its normalised text. */
  static String group(String query) {
    String q = query.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").strip();
    if (q.equals("commit") || q.equals("begin") || q.equals("rollback") || q.startsWith("set ") || q.startsWith("show ")
        || q.equals("select $1") || q.startsWith("select version()")) {
      return q.startsWith("commit") ? "commit" : "session (begin, set, ping)";
    }
    if (q.contains("insert into \"event_journal\"") || q.contains("insert into event_journal")) {
      return "journal: insert event_journal";
    }
    if (q.contains("insert into \"event_tag\"") || q.contains("insert into event_tag")) {
      return "journal: insert event_tag";
    }
    if (q.contains("event_tag") && q.contains("event_journal")) {
      return "eventsByTag poll";
    }
    if (q.contains("from \"event_journal\"") && q.contains("max(") || q.contains("\"ordering\" >") && !q.contains("event_tag")) {
      return "journal: ordering scan (sequence actor, recovery)";
    }
    if (q.contains("event_journal")) {
      return "journal: other (recovery, highest sequence nr)";
    }
    if (q.contains("snapshot")) {
      return "snapshots";
    }
    if (q.contains("pekko_projection")) {
      return "projection offsets";
    }
    if (q.contains("chat_sessions")) {
      return "chat_sessions rows";
    }
    if (q.contains("durable_state")) {
      return "durable state (limits)";
    }
    return "other";
  }

  /** Groups as printed rows, with each group's time per persisted turn. */
  static List<List<String>> rows(List<Group> groups, long turns) {
    List<List<String>> rows = new ArrayList<>();
    for (Group g : groups) {
      rows.add(List.of(g.name(), Long.toString(g.calls()), Report.fmt(g.calls() / (double) Math.max(1, turns)),
          Report.fmt((g.execMs() + g.planMs()) / Math.max(1, turns)),
          Report.fmt(g.calls() == 0 ? Double.NaN : (g.execMs() + g.planMs()) / g.calls()),
          Report.fmt(g.calls() == 0 ? Double.NaN : g.rows() / (double) g.calls()),
          Report.fmt(g.calls() == 0 ? Double.NaN : (g.blocksHit() + g.blocksRead()) / (double) g.calls())));
    }
    return rows;
  }

  static final List<String> HEADER = List.of("statements", "calls", "per turn", "ms/turn", "ms/call", "rows/call",
      "blocks/call");

  static Map<String, Object> toJson(List<Group> groups, long turns) {
    Map<String, Object> json = new LinkedHashMap<>();
    for (Group g : groups) {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("calls", g.calls());
      one.put("exec_ms", Report.round(g.execMs()));
      one.put("plan_ms", Report.round(g.planMs()));
      one.put("ms_per_turn", Report.round((g.execMs() + g.planMs()) / Math.max(1, turns)));
      one.put("rows", g.rows());
      one.put("shared_blocks_hit", g.blocksHit());
      one.put("shared_blocks_read", g.blocksRead());
      one.put("example", g.example().length() > 300 ? g.example().substring(0, 300) + "..." : g.example());
      json.put(g.name(), one);
    }
    return json;
  }

  @Override
  public void close() {
    try {
      owner.close();
    } catch (SQLException ignored) {
      // the node's database may be gone already
    }
  }
}
