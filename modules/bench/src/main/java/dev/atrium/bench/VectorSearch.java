package dev.atrium.bench;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.HdrHistogram.Histogram;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * The rag scenario's database side, over JDBC to the node's own embedded PostgreSQL: loads
 * synthetic chunks (as the owner, COPY into {@code rag_chunks} with the HNSW index dropped
 * and then rebuilt from its own definition), then times the retrieval query exactly as
 * {@code dev.atrium.rag.Retriever.search} sends it (as the service role, in a transaction
 * that sets the tenant, under row-level security) and compares its hits with an exact search.
 */
final class VectorSearch implements AutoCloseable {
  static final String TENANT = "bench";
  static final String EMBEDDER = "local:all-minilm-l6-v2";
  static final String INDEX = "rag_chunks_hnsw_384";
  static final int TOP_K = 10;
  /** Retriever.search with no filters for a 384-wide vector and k = 10; its ef_search is max(40, 2k). */
  static final int EF_SEARCH = Math.max(40, 2 * TOP_K);
  /**
   * Retriever.search's statement with no filters and its widths filled in, character for
   * character (a test compares it with the Retriever's source): what the node would send.
   */
  static final String SEARCH_SQL = """
      SELECT doc_id, chunk_id, source, text, heading_path,
             1 - (embedding::vector(384) <=> ?::vector(384)) AS score
      FROM rag_chunks
      WHERE tenant_id = ? AND embedder = ? AND vector_dims(embedding) = 384
        AND (expires_at IS NULL OR expires_at > now())
       ORDER BY embedding::vector(384) <=> ?::vector(384) LIMIT ?""";
  /**
   * The ground truth: the same rows, ordered by the same distance on the column as stored
   * (no cast to vector(384)), which the HNSW index (on the cast expression) cannot serve,
   * so PostgreSQL computes every distance. A different statement on purpose: a statement
   * prepared once keeps its cached plan, whatever {@code enable_indexscan} says later.
   */
  static final String EXACT_SQL = SEARCH_SQL.replace("ORDER BY embedding::vector(384) <=> ?::vector(384)",
      "ORDER BY embedding <=> ?::vector");
  /** Executions after which PostgreSQL may switch a prepared statement to its generic plan (plancache.c). */
  private static final int CUSTOM_PLANS = 5;
  /** Rows per COPY write: about 4 MB of text. */
  private static final int COPY_BATCH = 1000;
  private static final String BUILD_MEMORY = "512MB";

  private final String url;
  private final Connection service;

  VectorSearch(int port) {
    this.url = "jdbc:postgresql://127.0.0.1:" + port + "/atrium";
    try {
      // The roles of the node's embedded database trust local connections (no passwords).
      this.service = connect("atrium_service");
      service.setAutoCommit(false);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot connect to the node's PostgreSQL at " + url + ": " + e.getMessage(), e);
    }
  }

  private Connection connect(String user) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("ApplicationName", "atrium-bench");
    return DriverManager.getConnection(url, p);
  }

  /**
   * {@code count} chunks of the tenant {@code bench}, ten per synthetic document, with the
   * 384-wide HNSW index dropped first and built again afterwards (one bulk build instead of
   * 100,000 inserts into the graph); the index is rebuilt from its own definition, so it is
   * the migration's index whatever the migration says. Returns the timings.
   */
  Map<String, Object> load(SyntheticVectors vectors, int count) {
    Map<String, Object> out = new LinkedHashMap<>();
    try (Connection owner = connect("postgres"); Statement st = owner.createStatement()) {
      out.put("postgres", scalar(st, "SELECT version()"));
      out.put("pgvector", scalar(st, "SELECT extversion FROM pg_extension WHERE extname = 'vector'"));
      if (!scalar(st, "SELECT count(*) FROM rag_chunks WHERE tenant_id = '" + TENANT + "'").equals("0")) {
        throw new IllegalStateException("rag_chunks already holds rows of tenant " + TENANT);
      }
      String definition = scalar(st, "SELECT indexdef FROM pg_indexes WHERE indexname = '" + INDEX + "'");
      if (definition == null) {
        throw new IllegalStateException("no index " + INDEX + " on rag_chunks");
      }
      out.put("index_definition", definition);
      st.execute("DROP INDEX " + INDEX);

      long t0 = System.nanoTime();
      CopyIn copy = owner.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY rag_chunks (tenant_id, doc_id, version, "
          + "chunk_id, source, position, text, heading_path, metadata, embedder, embedding) FROM STDIN");
      StringBuilder rows = new StringBuilder(COPY_BATCH * 3600);
      for (int i = 0; i < count; i++) {
        String doc = "syn-" + (i / 10);
        rows.append(TENANT).append('\t').append(doc).append("\t1\tc").append(i % 10).append("\tsynthetic/").append(doc)
            .append('\t').append(i % 10).append("\tsynthetic chunk ").append(i).append("\t\t{}\t").append(EMBEDDER)
            .append('\t');
        SyntheticVectors.appendLiteral(rows, vectors.next());
        rows.append('\n');
        if ((i + 1) % COPY_BATCH == 0 || i == count - 1) {
          byte[] bytes = rows.toString().getBytes(StandardCharsets.UTF_8);
          copy.writeToCopy(bytes, 0, bytes.length);
          rows.setLength(0);
        }
      }
      long copied = copy.endCopy();
      out.put("rows_copied", copied);
      out.put("copy_s", Report.round((System.nanoTime() - t0) / 1e9));
      System.out.printf("  copied %d rows in %.1f s%n", copied, (System.nanoTime() - t0) / 1e9);

      // pgvector builds the graph in memory when it fits maintenance_work_mem (64 MB by
      // default: 100,000 vectors of 384 floats do not), else far more slowly on disk.
      st.execute("SET maintenance_work_mem = '" + BUILD_MEMORY + "'");
      out.put("maintenance_work_mem", BUILD_MEMORY);
      out.put("max_parallel_maintenance_workers", scalar(st, "SHOW max_parallel_maintenance_workers"));
      long t1 = System.nanoTime();
      st.execute(definition);
      out.put("index_build_s", Report.round((System.nanoTime() - t1) / 1e9));
      System.out.printf("  built %s in %.1f s%n", INDEX, (System.nanoTime() - t1) / 1e9);
      long t2 = System.nanoTime();
      st.execute("ANALYZE rag_chunks");
      out.put("analyze_s", Report.round((System.nanoTime() - t2) / 1e9));
      out.put("index_mib", Report.round(Long.parseLong(scalar(st, "SELECT pg_relation_size('" + INDEX + "')")) / 1048576.0));
      out.put("table_mib", Report.round(Long.parseLong(scalar(st, "SELECT pg_total_relation_size('rag_chunks')")) / 1048576.0));
      out.put("rows_in_table", Long.parseLong(scalar(st, "SELECT count(*) FROM rag_chunks")));
      out.put("shared_buffers", scalar(st, "SHOW shared_buffers"));
    } catch (SQLException e) {
      throw new IllegalStateException("loading the vectors failed: " + e.getMessage(), e);
    }
    return out;
  }

  /** Times each search: the whole transaction (what Retriever.search costs the database) and the query in it. */
  record Timings(Histogram transaction, Histogram query) {}

  Timings time(List<float[]> queries) {
    Timings t = new Timings(new Histogram(Load.MAX_MICROS, 3), new Histogram(Load.MAX_MICROS, 3));
    for (float[] q : queries) {
      search(SyntheticVectors.literal(q), false, t);
    }
    return t;
  }

  /** Mean recall@10 of the HNSW search against the exact one, and the worst query's. */
  double[] recall(List<float[]> queries) {
    double sum = 0;
    double worst = 1;
    for (float[] q : queries) {
      String literal = SyntheticVectors.literal(q);
      double r = SyntheticVectors.recall(search(literal, false, null), search(literal, true, null));
      sum += r;
      worst = Math.min(worst, r);
    }
    return new double[] {queries.isEmpty() ? Double.NaN : sum / queries.size(), worst};
  }

  /**
   * Database.inTenant and Retriever.search: set the tenant for the transaction, the
   * iterative scan and ef_search, run the query, commit. {@code exact} runs
   * {@link #EXACT_SQL} with index scans off, planned for its own vector every time: every
   * distance computed, then sorted.
   */
  private List<String> search(String literal, boolean exact, Timings timings) {
    List<String> hits = new ArrayList<>(TOP_K);
    try {
      long start = System.nanoTime();
      begin(exact);
      long queryStart = System.nanoTime();
      try (PreparedStatement ps = service.prepareStatement(exact ? EXACT_SQL : SEARCH_SQL)) {
        bind(ps, literal);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            // Every column, as the Retriever reads them.
            hits.add(rs.getString(1) + "/" + rs.getString(2));
            rs.getString(3);
            rs.getString(4);
            rs.getString(5);
            rs.getDouble(6);
          }
        }
      }
      long queryEnd = System.nanoTime();
      service.commit();
      if (timings != null) {
        timings.query().recordValue(Math.min(Load.MAX_MICROS, (queryEnd - queryStart) / 1000));
        timings.transaction().recordValue(Math.min(Load.MAX_MICROS, (System.nanoTime() - start) / 1000));
      }
      return hits;
    } catch (SQLException e) {
      rollback();
      throw new IllegalStateException("search failed: " + e.getMessage(), e);
    }
  }

  private void begin(boolean exact) throws SQLException {
    try (PreparedStatement ps = service.prepareStatement("select set_config('atrium.tenant_id', ?, true)")) {
      ps.setString(1, TENANT);
      ps.executeQuery().close();
    }
    try (Statement st = service.createStatement()) {
      st.execute("SET LOCAL hnsw.iterative_scan = relaxed_order");
      st.execute("SET LOCAL hnsw.ef_search = " + EF_SEARCH);
      if (exact) {
        st.execute("SET LOCAL enable_indexscan = off");
        // A generic plan would not fold the query vector's cast to a constant and would parse
        // its text again for every row it compares: over a second per query at 100,000 rows.
        st.execute("SET LOCAL plan_cache_mode = force_custom_plan");
      }
    }
  }

  private static void bind(PreparedStatement ps, String literal) throws SQLException {
    ps.setString(1, literal);
    ps.setString(2, TENANT);
    ps.setString(3, EMBEDDER);
    ps.setString(4, literal);
    ps.setInt(5, TOP_K);
  }

  /**
   * The plans, to show that the measured search walks the HNSW index and the exact one does
   * not: each for one query, and the measured one also as PostgreSQL keeps it for a statement
   * executed again and again on one connection (a named statement, EXPLAIN EXECUTE after
   * more than {@value #CUSTOM_PLANS} runs), which is what a pooled connection reuses.
   */
  Map<String, String> plans(float[] query) {
    String literal = SyntheticVectors.literal(query);
    Map<String, String> plans = new LinkedHashMap<>();
    try {
      plans.put("hnsw", explain(false, "EXPLAIN " + SEARCH_SQL, literal));
      plans.put("exact", explain(true, "EXPLAIN " + EXACT_SQL, literal));
      String numbered = SEARCH_SQL;
      for (int n = 1; numbered.contains("?"); n++) {
        numbered = numbered.replaceFirst("\\?", "\\$" + n);
      }
      try (Statement st = service.createStatement()) {
        st.execute("PREPARE bench_search (text, text, text, text, integer) AS " + numbered);
      }
      service.commit();
      String args = "('" + literal + "', '" + TENANT + "', '" + EMBEDDER + "', '" + literal + "', " + TOP_K + ")";
      for (int i = 0; i <= CUSTOM_PLANS; i++) {
        explain(false, "EXECUTE bench_search " + args, literal);
      }
      plans.put("hnsw_reused", explain(false, "EXPLAIN EXECUTE bench_search " + args, literal));
      try (Statement st = service.createStatement()) {
        st.execute("DEALLOCATE bench_search");
      }
      service.commit();
    } catch (SQLException e) {
      rollback();
      throw new IllegalStateException("EXPLAIN failed: " + e.getMessage(), e);
    }
    return plans;
  }

  /** Runs a statement in a search's transaction; binds the search's parameters if it has any. Returns its rows' first column. */
  private String explain(boolean exact, String sql, String literal) throws SQLException {
    StringBuilder out = new StringBuilder();
    begin(exact);
    try (PreparedStatement ps = service.prepareStatement(sql)) {
      if (sql.contains("?")) {
        bind(ps, literal);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.append(rs.getString(1)).append('\n');
        }
      }
    }
    service.commit();
    return out.toString().strip();
  }

  private void rollback() {
    try {
      service.rollback();
    } catch (SQLException ignored) {
      // the connection is closed with the run anyway
    }
  }

  private static String scalar(Statement st, String sql) throws SQLException {
    try (ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  @Override
  public void close() {
    try {
      service.close();
    } catch (SQLException ignored) {
      // nothing left to do
    }
  }
}
