package dev.atrium.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

/**
 * {@code ./atrium bench ingest}: chunks per second through the whole ingest path with the
 * in-process MiniLM embedder, on one node: documents uploaded one per
 * {@code POST /v1/documents} by C concurrent clients, each an ingest run (extract, chunk,
 * embed, persist), until every document is listed by {@code GET /v1/documents} (the vectors
 * projection has written its chunks). The baseline, in the same run on the same node: the
 * very same chunk texts through {@code POST /v1/embeddings} in the ingest's batch size, the
 * embedder alone. Then the bytes of journal and tables each chunk added.
 */
final class IngestScenario {
  static final Set<String> OPTIONS = Set.of("documents", "chunks-per-document", "concurrency", "warmup-documents",
      "seed");
  private static final String TENANT = "bench-ingest";
  private static final String KEY = "bench-ingest-key";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** EmbeddingStore's batch: the baseline sends the embedder the same batches. */
  private static final int EMBED_BATCH = 32;
  private static final long RUN_TIMEOUT_MS = 1_800_000;
  /** Groups of tables whose size each chunk adds to, in the order they are printed. */
  private static final Map<String, List<String>> SPACE = new LinkedHashMap<>();

  static {
    SPACE.put("journal", List.of("event_journal", "event_tag", "snapshot"));
    SPACE.put("rag_chunks", List.of("rag_chunks"));
    SPACE.put("embeddings", List.of("embeddings"));
    SPACE.put("documents", List.of("documents"));
    SPACE.put("staging", List.of("document_uploads", "ingest_items"));
    SPACE.put("runs", List.of("runs"));
  }

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int documents;
  private final int chunksPerDocument;
  private final int concurrency;
  private final int warmupDocuments;
  private final long seed;
  private NodeApi api;

  IngestScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.documents = o.integer("documents", 40, 1, 100_000);
    this.chunksPerDocument = o.integer("chunks-per-document", 25, 1, 10_000);
    this.concurrency = o.integer("concurrency", 4, 1, 256);
    this.warmupDocuments = o.integer("warmup-documents", 12, 0, 100_000);
    this.seed = o.integer("seed", 42, 0, Integer.MAX_VALUE);
  }

  void run(Report report) {
    Fleet.Launched atrium = fleet.atrium(BenchTenants.write(runDir, TENANT, BenchTenants.tenant(TENANT,
        List.of(BenchTenants.apiKey("k_ingest", KEY)), BenchTenants.unlimitedRateLimits())));
    api = new NodeApi(http, atrium.baseUri(), KEY);
    long postgresPid = atrium.postgresPid().orElseThrow(() ->
        new IllegalStateException("no embedded PostgreSQL found (is ATRIUM_DATABASE_URL set?)"));
    Meter meter = new Meter()
        .watch("atrium", () -> Cpu.processNanos(atrium.pid()))
        .watch("postgres", () -> Cpu.treeNanos(postgresPid));
    String url = "jdbc:postgresql://127.0.0.1:" + atrium.postgresPort() + "/atrium";

    try (Connection owner = connect(url)) {
      if (warmupDocuments > 0) {
        System.out.printf("%nwarming up: %d documents of %d paragraphs, and their chunks through /v1/embeddings%n",
            warmupDocuments, chunksPerDocument);
        Phase w = ingest("warm", warmupDocuments, meter);
        Phase wb = embedOnly(chunkTexts(owner, "warm-"), meter);
        System.out.printf("  warm-up: ingest %s chunks/s, embeddings alone %s chunks/s%n", Report.fmt(w.perSecond()),
            Report.fmt(wb.perSecond()));
      }
      JdkTools.Jit jitBefore = JdkTools.jit(atrium.pid());
      Map<String, Long> spaceBefore = space(owner);
      System.out.printf("%nmeasuring: %d documents of %d paragraphs, %d concurrent uploads%n", documents,
          chunksPerDocument, concurrency);
      Phase ingest = ingest("doc", documents, meter);
      Map<String, Long> spaceAfter = space(owner);
      System.out.printf("  ingest: %d chunks in %.1f s, %s chunks/s%n", ingest.chunks(), ingest.seconds(),
          Report.fmt(ingest.perSecond()));
      List<String> texts = chunkTexts(owner, "doc-");
      if (texts.size() != ingest.chunks()) {
        throw new IllegalStateException("the runs reported " + ingest.chunks() + " chunks but rag_chunks holds "
            + texts.size());
      }
      System.out.printf("%nbaseline: the same %d chunk texts through POST /v1/embeddings, batches of %d, %d clients%n",
          texts.size(), EMBED_BATCH, concurrency);
      Phase baseline = embedOnly(texts, meter);
      System.out.printf("  embeddings alone: %s chunks/s%n", Report.fmt(baseline.perSecond()));
      JdkTools.Jit jitAfter = JdkTools.jit(atrium.pid());
      print(ingest, baseline, spaceBefore, spaceAfter, report);
      report.jit(jitBefore, jitAfter);
    } catch (SQLException e) {
      throw new IllegalStateException("the node's PostgreSQL at " + url + ": " + e.getMessage(), e);
    }
  }

  /** A phase: chunks handled, the wall time, the CPU of each watched process, and (baseline) word-pieces. */
  private record Phase(long chunks, double seconds, Map<String, Long> cpuNanos, double machineBusy, long tokens) {
    double perSecond() {
      return chunks / seconds;
    }

    double cpuMsPerChunk(String process) {
      return cpuNanos.getOrDefault(process, 0L) / 1e6 / chunks;
    }
  }

  /**
   * Uploads {@code count} documents (ids {@code <prefix>-<n>}) from {@code concurrency}
   * clients, follows each ingest run to its end, then waits until the vectors projection has
   * listed them all: the clock runs from the first upload to that moment.
   */
  private Phase ingest(String prefix, int count, Meter meter) {
    Random random = new Random(seed + prefix.hashCode());
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      bodies.add(NodeApi.bytes(JSON.createObjectNode().put("id", prefix + "-" + i).put("source", prefix + "-" + i + ".md")
          .put("content_type", "text/markdown").put("content", SyntheticText.document(random, i, chunksPerDocument))));
    }
    AtomicLong chunks = new AtomicLong();
    Meter.Reading before = meter.read();
    long started = System.nanoTime();
    parallel(count, i -> {
      JsonNode accepted = api.post("/v1/documents", bodies.get(i), 202);
      JsonNode run = api.awaitRun(accepted.path("run_id").asText(), RUN_TIMEOUT_MS);
      for (JsonNode d : run.path("result").path("documents")) {
        chunks.addAndGet(d.path("chunks").asLong());
      }
    });
    awaitListed(prefix, count);
    long nanos = System.nanoTime() - started;
    Meter.Reading after = meter.read();
    return new Phase(chunks.get(), nanos / 1e9, before.cpuUntil(after), before.machine().busyUntil(after.machine()), 0);
  }

  /** {@code POST /v1/embeddings} with the texts in batches of EMBED_BATCH, from {@code concurrency} clients. */
  private Phase embedOnly(List<String> texts, Meter meter) {
    List<List<String>> batches = new ArrayList<>();
    for (int from = 0; from < texts.size(); from += EMBED_BATCH) {
      batches.add(texts.subList(from, Math.min(texts.size(), from + EMBED_BATCH)));
    }
    AtomicLong tokens = new AtomicLong();
    Meter.Reading before = meter.read();
    long started = System.nanoTime();
    parallel(batches.size(), i -> {
      ObjectNode body = JSON.createObjectNode().put("model", "local");
      ArrayNode input = body.putArray("input");
      batches.get(i).forEach(input::add);
      JsonNode answer = api.post("/v1/embeddings", NodeApi.bytes(body), 200);
      if (answer.path("data").size() != batches.get(i).size()) {
        throw new IllegalStateException("/v1/embeddings answered " + answer.path("data").size() + " vectors for "
            + batches.get(i).size() + " inputs");
      }
      tokens.addAndGet(answer.path("usage").path("prompt_tokens").asLong());
    });
    long nanos = System.nanoTime() - started;
    Meter.Reading after = meter.read();
    return new Phase(texts.size(), nanos / 1e9, before.cpuUntil(after), before.machine().busyUntil(after.machine()),
        tokens.get());
  }

  /** Runs task(0..count-1) on {@code concurrency} threads; the first failure stops the bench. */
  private void parallel(int count, IntConsumer task) {
    AtomicInteger next = new AtomicInteger();
    ConcurrentLinkedQueue<RuntimeException> failures = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < Math.min(concurrency, count); t++) {
      Thread thread = new Thread(() -> {
        int i;
        while (failures.isEmpty() && (i = next.getAndIncrement()) < count) {
          try {
            task.accept(i);
          } catch (RuntimeException e) {
            failures.add(e);
          }
        }
      }, "ingest-client-" + t);
      thread.setDaemon(true);
      thread.start();
      threads.add(thread);
    }
    for (Thread thread : threads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted");
      }
    }
    if (!failures.isEmpty()) {
      throw failures.peek();
    }
  }

  /** Until GET /v1/documents lists every document of the phase (the projection wrote documents and chunks together). */
  private void awaitListed(String prefix, int count) {
    long deadline = System.currentTimeMillis() + 120_000;
    while (listed(prefix) < count) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("the documents did not all appear in GET /v1/documents within 120 s");
      }
      NodeApi.pause();
    }
  }

  private int listed(String prefix) {
    int n = 0;
    String cursor = null;
    do {
      JsonNode page = api.get("/v1/documents?limit=100" + (cursor == null ? "" : "&cursor=" + cursor));
      for (JsonNode d : page.path("data")) {
        if (d.path("id").asText().startsWith(prefix + "-")) {
          n++;
        }
      }
      cursor = page.path("next_cursor").isTextual() ? page.path("next_cursor").asText() : null;
    } while (cursor != null);
    return n;
  }

  /** The chunk texts the node stored for the documents whose ids start with the prefix, in document order. */
  private static List<String> chunkTexts(Connection owner, String idPrefix) throws SQLException {
    List<String> texts = new ArrayList<>();
    try (PreparedStatement st = owner.prepareStatement(
        "SELECT text FROM rag_chunks WHERE tenant_id = ? AND doc_id LIKE ? ORDER BY doc_id, position")) {
      st.setString(1, TENANT);
      st.setString(2, idPrefix + "%");
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          texts.add(rs.getString(1));
        }
      }
    }
    return texts;
  }

  /** Bytes on disk (tables, their indexes and TOAST) of each group of tables. */
  private static Map<String, Long> space(Connection owner) throws SQLException {
    owner.createStatement().execute("CHECKPOINT");
    Map<String, Long> bytes = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> group : SPACE.entrySet()) {
      long sum = 0;
      for (String table : group.getValue()) {
        try (PreparedStatement st = owner.prepareStatement("SELECT pg_total_relation_size(?::regclass)")) {
          st.setString(1, table);
          try (ResultSet rs = st.executeQuery()) {
            rs.next();
            sum += rs.getLong(1);
          }
        }
      }
      bytes.put(group.getKey(), sum);
    }
    return bytes;
  }

  private static Connection connect(String url) throws SQLException {
    Properties p = new Properties();
    // The embedded database's owner; local connections are trusted (no password).
    p.setProperty("user", "postgres");
    p.setProperty("ApplicationName", "atrium-bench");
    return DriverManager.getConnection(url, p);
  }

  private void print(Phase ingest, Phase baseline, Map<String, Long> before, Map<String, Long> after, Report report) {
    double tokensPerChunk = (double) baseline.tokens() / baseline.chunks();
    System.out.printf("%nresults: %d documents, %d chunks (%.0f word-pieces each on average), %d concurrent clients%n",
        documents, ingest.chunks(), tokensPerChunk, concurrency);
    List<List<String>> rows = new ArrayList<>();
    for (Phase p : List.of(ingest, baseline)) {
      rows.add(List.of(p == ingest ? "ingest (POST /v1/documents to listed)" : "embeddings alone (POST /v1/embeddings)",
          Long.toString(p.chunks()), Report.fmt(p.seconds()), Report.fmt(p.perSecond()),
          Report.fmt(p.cpuMsPerChunk("atrium")), Report.fmt(p.cpuMsPerChunk("postgres")),
          Report.fmt(p.cpuMsPerChunk("bench")), Report.fmt(p.machineBusy() * 100)));
    }
    Report.table(List.of("case", "chunks", "seconds", "chunks/s", "atrium cpu ms/chunk", "postgres cpu ms/chunk",
        "bench cpu ms/chunk", "machine %"), rows);
    System.out.printf("  ingest / embeddings alone: %s%n", Report.fmt(ingest.perSecond() / baseline.perSecond()));

    Map<String, Object> perChunk = new LinkedHashMap<>();
    List<List<String>> space = new ArrayList<>();
    long total = 0;
    for (String group : before.keySet()) {
      long delta = after.get(group) - before.get(group);
      total += delta;
      perChunk.put(group, delta / ingest.chunks());
      space.add(List.of(group, String.join(", ", SPACE.get(group)), Long.toString(delta / ingest.chunks())));
    }
    perChunk.put("total", total / ingest.chunks());
    space.add(List.of("total", "", Long.toString(total / ingest.chunks())));
    System.out.printf("%nbytes on disk added per chunk (pg_total_relation_size after a CHECKPOINT, before and after)%n");
    Report.table(List.of("group", "tables", "bytes/chunk"), space);

    System.out.printf("%ntargets:%n");
    report.target("ingest chunks per second (local embedder)", ingest.perSecond(), ">=", 150, "/s");

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("documents", documents);
    config.put("chunks_per_document_paragraphs", chunksPerDocument);
    config.put("concurrency", concurrency);
    config.put("warmup_documents", warmupDocuments);
    config.put("embed_batch", EMBED_BATCH);
    report.put("config", config)
        .put("ingest", phaseJson(ingest))
        .put("embeddings_alone", phaseJson(baseline))
        .put("ratio_ingest_to_embeddings_alone", Report.round(ingest.perSecond() / baseline.perSecond()))
        .put("word_pieces_per_chunk", Report.round(tokensPerChunk))
        .put("bytes_per_chunk", perChunk);
  }

  private static Map<String, Object> phaseJson(Phase p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("chunks", p.chunks());
    m.put("seconds", Report.round(p.seconds()));
    m.put("chunks_per_second", Report.round(p.perSecond()));
    m.put("atrium_cpu_ms_per_chunk", Report.round(p.cpuMsPerChunk("atrium")));
    m.put("postgres_cpu_ms_per_chunk", Report.round(p.cpuMsPerChunk("postgres")));
    m.put("bench_cpu_ms_per_chunk", Report.round(p.cpuMsPerChunk("bench")));
    m.put("machine_busy_percent", Report.round(p.machineBusy() * 100));
    return m;
  }
}
