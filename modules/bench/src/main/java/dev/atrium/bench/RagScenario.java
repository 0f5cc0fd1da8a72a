package dev.atrium.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * {@code ./atrium bench rag}, on one node: (b) {@code POST /v1/search} over HTTP on the
 * checkout's own docs ingested through {@code POST /v1/documents} (local embedder, local
 * model), distinct queries (uncached) and then the same again (cached); (a) the retrieval
 * query itself on N synthetic chunks, loaded into the node's database over JDBC, with its
 * latency and its recall@10 against an exact search. (b) runs first, on a small table.
 */
final class RagScenario {
  static final Set<String> OPTIONS = Set.of("chunks", "queries", "recall-queries", "searches", "distribution", "seed");
  private static final String DOCS_TENANT = "bench-docs";
  private static final String DOCS_KEY = "bench-docs-key";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int WARMUP_SEARCHES = 20;
  private static final int WARMUP_QUERIES = 100;
  private static final long INGEST_TIMEOUT_MS = 300_000;

  private final Http http;
  private final Fleet fleet;
  private final Path root;
  private final Path runDir;
  private final int chunks;
  private final int queries;
  private final int recallQueries;
  private final int searches;
  private final String distribution;
  private final long seed;
  private URI base;
  private NodeApi api;

  RagScenario(BenchOptions o, Http http, Fleet fleet, Path root, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.root = root;
    this.runDir = runDir;
    this.chunks = o.integer("chunks", 100_000, 100, 10_000_000);
    this.queries = o.integer("queries", 1000, 1, 1_000_000);
    this.recallQueries = o.integer("recall-queries", 100, 1, 100_000);
    this.searches = o.integer("searches", 200, 1, 100_000);
    this.distribution = o.choice("distribution", "clustered", SyntheticVectors.DISTRIBUTIONS);
    this.seed = o.integer("seed", 42, 0, Integer.MAX_VALUE);
  }

  void run(Report report) {
    Fleet.Launched atrium = fleet.atrium(writeTenants());
    base = atrium.baseUri();
    api = new NodeApi(http, base, DOCS_KEY);
    long postgresPid = atrium.postgresPid().orElseThrow(() ->
        new IllegalStateException("no embedded PostgreSQL found (is ATRIUM_DATABASE_URL set?)"));
    Meter meter = new Meter()
        .watch("atrium", () -> Cpu.processNanos(atrium.pid()))
        .watch("postgres", () -> Cpu.treeNanos(postgresPid));

    System.out.printf("%n(b) POST /v1/search over HTTP%n");
    Map<String, Object> overHttp = searchOverHttp(meter);

    System.out.printf("%n(a) the retrieval query on %,d synthetic chunks (%s), PostgreSQL on port %d%n", chunks,
        distribution, atrium.postgresPort());
    Map<String, Object> retrieval = new LinkedHashMap<>();
    try (VectorSearch db = new VectorSearch(atrium.postgresPort())) {
      SyntheticVectors vectors = new SyntheticVectors(distribution, chunks, seed);
      retrieval.put("load", db.load(vectors, chunks));
      List<float[]> all = vectors.queries(WARMUP_QUERIES + queries);
      List<float[]> measured = all.subList(WARMUP_QUERIES, all.size());
      Map<String, String> plans = db.plans(measured.get(0));
      boolean usesIndex = plans.get("hnsw").contains(VectorSearch.INDEX) && plans.get("hnsw_reused").contains(VectorSearch.INDEX)
          && !plans.get("exact").contains(VectorSearch.INDEX);
      retrieval.put("plans", plans);
      retrieval.put("plans_as_expected", usesIndex);
      if (!usesIndex) {
        System.out.println("  WARNING: the plans are not as expected (HNSW for the search, none for the exact one):\n"
            + plans);
      }
      db.time(all.subList(0, WARMUP_QUERIES));
      Meter.Reading before = meter.read();
      VectorSearch.Timings t = db.time(measured);
      Map<String, Long> cpu = before.cpuUntil(meter.read());
      System.out.printf("  %d searches: transaction p50 %s ms, p95 %s ms%n", measured.size(),
          Report.fmt(Case.ms(t.transaction(), 50)), Report.fmt(Case.ms(t.transaction(), 95)));
      long recallStart = System.nanoTime();
      double[] recall = db.recall(measured.subList(0, Math.min(recallQueries, measured.size())));
      retrieval.put("recall_s", Report.round((System.nanoTime() - recallStart) / 1e9));
      System.out.printf("  recall@10 over %d queries against exact search in %.1f s%n",
          Math.min(recallQueries, measured.size()), (System.nanoTime() - recallStart) / 1e9);
      retrieval.put("queries", measured.size());
      retrieval.put("transaction_ms", Case.percentiles(t.transaction()));
      retrieval.put("query_ms", Case.percentiles(t.query()));
      retrieval.put("postgres_cpu_ms_per_search", Report.round(cpu.get("postgres") / 1e6 / measured.size()));
      retrieval.put("recall_queries", Math.min(recallQueries, measured.size()));
      retrieval.put("recall_at_10", Report.round(recall[0]));
      retrieval.put("recall_at_10_worst_query", Report.round(recall[1]));
      print(retrieval, t, recall, overHttp, report);
    }
  }

  /** Ingests the docs, then times distinct searches (uncached) and the same searches again (cached). */
  private Map<String, Object> searchOverHttp(Meter meter) {
    List<Path> files = documents();
    long t0 = System.nanoTime();
    List<String> runIds = new ArrayList<>();
    for (Path f : files) {
      runIds.add(api.post("/v1/documents", upload(f), 202).path("run_id").asText());
    }
    for (String id : runIds) {
      api.awaitRun(id, INGEST_TIMEOUT_MS);
    }
    awaitDocuments(files.size());
    double ingestSeconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("  ingested %d documents in %.1f s%n", files.size(), ingestSeconds);

    List<String> texts = queries(files, WARMUP_SEARCHES + searches);
    List<String> warm = texts.subList(0, WARMUP_SEARCHES);
    List<String> measured = texts.subList(WARMUP_SEARCHES, texts.size());
    // The embedder loads its model on first use, and both paths need the JIT's attention.
    pass(warm, false, meter);
    pass(warm, true, meter);
    Map<String, Object> uncached = pass(measured, false, meter);
    Map<String, Object> cached = pass(measured, true, meter);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("documents", files.stream().map(f -> root.relativize(f).toString()).toList());
    out.put("ingest_s", Report.round(ingestSeconds));
    out.put("searches", measured.size());
    out.put("uncached", uncached);
    out.put("cached", cached);
    return out;
  }

  /** One search per query in order, one at a time; every answer must say whether it came from the cache as expected. */
  private Map<String, Object> pass(List<String> texts, boolean expectCached, Meter meter) {
    Histogram latency = new Histogram(Load.MAX_MICROS, 3);
    int unexpected = 0;
    long sources = 0;
    AtomicReference<Closeable> inFlight = new AtomicReference<>();
    Meter.Reading before = meter.read();
    for (String q : texts) {
      ObjectNode body = JSON.createObjectNode().put("query", q).put("top_k", 10);
      try {
        Http.Answer a = http.exchange(Http.post(base.resolve("/v1/search"), DOCS_KEY, NodeApi.bytes(body)).build(), inFlight);
        if (a.status() != 200) {
          throw new IllegalStateException("POST /v1/search: HTTP " + a.status() + ": " + Http.abbreviate(a.body()));
        }
        latency.recordValue(Math.min(Load.MAX_MICROS, a.timing().totalNanos() / 1000));
        JsonNode answer = JSON.readTree(a.body());
        unexpected += answer.path("cached").asBoolean() == expectCached ? 0 : 1;
        sources += answer.path("sources").size();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted");
      }
    }
    Map<String, Long> cpu = before.cpuUntil(meter.read());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("latency_ms", Case.percentiles(latency));
    out.put("unexpected_cache_state", unexpected);
    out.put("mean_sources", Report.round(sources / (double) texts.size()));
    out.put("atrium_cpu_ms_per_search", Report.round(cpu.get("atrium") / 1e6 / texts.size()));
    out.put("postgres_cpu_ms_per_search", Report.round(cpu.get("postgres") / 1e6 / texts.size()));
    return out;
  }

  /** The checkout's README and docs: real prose and tables, a few dozen chunks each. */
  private List<Path> documents() {
    try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
      List<Path> files = new ArrayList<>(docs.filter(p -> p.toString().endsWith(".md")).sorted().toList());
      files.add(0, root.resolve("README.md"));
      return files;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private byte[] upload(Path file) {
    try {
      String name = root.relativize(file).toString();
      return NodeApi.bytes(JSON.createObjectNode().put("id", "doc-" + name.replaceAll("[^A-Za-z0-9]+", "-"))
          .put("source", name).put("content", Files.readString(file)).put("content_type", "text/markdown"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Distinct queries from the documents' own lines (their first ten words), in a seeded order:
   * realistic text for the embedder, and each different after the cache's normalisation
   * (white space collapsed, case ignored).
   */
  private List<String> queries(List<Path> files, int n) {
    Set<String> distinct = new LinkedHashSet<>();
    Set<String> seen = new java.util.HashSet<>();
    for (Path f : files) {
      try {
        for (String line : Files.readAllLines(f)) {
          String[] words = line.replaceAll("[^A-Za-z0-9' ]+", " ").strip().split("\\s+");
          String query = String.join(" ", java.util.Arrays.copyOf(words, Math.min(10, words.length)));
          if (query.length() >= 25 && seen.add(query.toLowerCase(Locale.ROOT))) {
            distinct.add(query);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    List<String> all = new ArrayList<>(distinct);
    if (all.size() < n) {
      throw new IllegalStateException("the documents give " + all.size() + " distinct queries; --searches needs "
          + (n - WARMUP_SEARCHES));
    }
    Collections.shuffle(all, new Random(seed));
    return all.subList(0, n);
  }

  /** The documents are searchable once the vectors projection has written them (documents and chunks, one transaction). */
  private void awaitDocuments(int n) {
    long deadline = System.currentTimeMillis() + 60_000;
    while (api.get("/v1/documents?limit=100").path("data").size() < n) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("the documents did not appear in GET /v1/documents within 60 s");
      }
      NodeApi.pause();
    }
  }

  private void print(Map<String, Object> retrieval, VectorSearch.Timings t, double[] recall, Map<String, Object> overHttp,
      Report report) {
    @SuppressWarnings("unchecked")
    Map<String, Object> load = (Map<String, Object>) retrieval.get("load");
    System.out.printf("%nresults (a): top-%d retrieval on %,d synthetic chunks (%s), ef_search %d, one client%n",
        VectorSearch.TOP_K, chunks, distribution, VectorSearch.EF_SEARCH);
    Report.table(List.of("measure", "value"), List.of(
        List.of("COPY s", Report.fmt((Double) load.get("copy_s"))),
        List.of("HNSW index build s", Report.fmt((Double) load.get("index_build_s"))),
        List.of("index MiB", Report.fmt((Double) load.get("index_mib"))),
        List.of("search p50 ms (transaction)", Report.fmt(Case.ms(t.transaction(), 50))),
        List.of("search p95 ms (transaction)", Report.fmt(Case.ms(t.transaction(), 95))),
        List.of("query alone p50 / p95 ms", Report.fmt(Case.ms(t.query(), 50)) + " / " + Report.fmt(Case.ms(t.query(), 95))),
        List.of("postgres cpu ms per search", Report.fmt((Double) retrieval.get("postgres_cpu_ms_per_search"))),
        List.of("recall@10 (mean over " + retrieval.get("recall_queries") + ")", Report.fmt(recall[0])),
        List.of("recall@10 worst query", Report.fmt(recall[1]))));

    System.out.println(distribution.equals("clustered")
        ? "  recall depends on the vectors: in topics of ~" + SyntheticVectors.CLUSTER_SIZE + " vectors the search is nearly"
            + " exhaustive within a topic (an easy case); --distribution uniform is the hardest case, unlike real text"
        : "  uniform vectors are the hardest case for HNSW, unlike real text; --distribution clustered is an easy one");

    @SuppressWarnings("unchecked")
    Map<String, Object> uncached = (Map<String, Object>) overHttp.get("uncached");
    @SuppressWarnings("unchecked")
    Map<String, Object> cached = (Map<String, Object>) overHttp.get("cached");
    double u50 = ms(uncached, "p50");
    double c50 = ms(cached, "p50");
    System.out.printf("%nresults (b): POST /v1/search, top 10, %d documents, one client, %s searches each%n",
        ((List<?>) overHttp.get("documents")).size(), overHttp.get("searches"));
    List<List<String>> rows = new ArrayList<>();
    for (String name : List.of("uncached (distinct)", "cached (repeats)")) {
      Map<String, Object> v = name.startsWith("uncached") ? uncached : cached;
      rows.add(List.of(name, Report.fmt(ms(v, "p50")), Report.fmt(ms(v, "p95")), Report.fmt(ms(v, "p99")),
          Report.fmt((Double) v.get("atrium_cpu_ms_per_search")), Report.fmt((Double) v.get("postgres_cpu_ms_per_search")),
          String.valueOf(v.get("unexpected_cache_state")), Report.fmt((Double) v.get("mean_sources"))));
    }
    Report.table(List.of("case", "p50 ms", "p95 ms", "p99 ms", "atrium cpu ms", "postgres cpu ms", "wrong cache flag",
        "sources"), rows);
    System.out.printf("  uncached / cached p50: %s×, p95: %s×%n", Report.fmt(u50 / c50),
        Report.fmt(ms(uncached, "p95") / ms(cached, "p95")));

    System.out.printf("%ntargets:%n");
    report.target("retrieval p95 (top 10, " + chunks / 1000 + "k chunks)", Case.ms(t.transaction(), 95), "<=", 15, "ms");
    report.target("recall@10 against exact search", recall[0], ">=", 0.95, "");

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("chunks", chunks);
    config.put("distribution", distribution);
    config.put("cluster_size", SyntheticVectors.CLUSTER_SIZE);
    config.put("cluster_spread", SyntheticVectors.SPREAD);
    config.put("seed", seed);
    config.put("top_k", VectorSearch.TOP_K);
    config.put("ef_search", VectorSearch.EF_SEARCH);
    config.put("searches_per_pass", searches);
    Map<String, Object> ratios = new LinkedHashMap<>();
    ratios.put("uncached_over_cached_p50", Report.round(u50 / c50));
    ratios.put("uncached_over_cached_p95", Report.round(ms(uncached, "p95") / ms(cached, "p95")));
    overHttp.put("ratios", ratios);
    report.put("config", config).put("retrieval", retrieval).put("search_http", overHttp);
  }

  private static double ms(Map<String, Object> pass, String percentile) {
    Object v = ((Map<?, ?>) pass.get("latency_ms")).get(percentile);
    return v instanceof Double d ? d : Double.NaN;
  }

  /** Two tenants: one for the synthetic chunks (no HTTP), one whose documents /v1/search reads. */
  private Path writeTenants() {
    BenchTenants.write(runDir, VectorSearch.TENANT, BenchTenants.tenant(VectorSearch.TENANT,
        List.of(BenchTenants.apiKey("k_bench", "bench-key")), BenchTenants.unlimitedRateLimits()));
    return BenchTenants.write(runDir, DOCS_TENANT, BenchTenants.tenant(DOCS_TENANT,
        List.of(BenchTenants.apiKey("k_docs", DOCS_KEY)), BenchTenants.unlimitedRateLimits()));
  }
}
