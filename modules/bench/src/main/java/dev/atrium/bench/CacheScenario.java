package dev.atrium.bench;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code ./atrium bench cache}: the response cache of one node in front of the mock upstream.
 * First hits against misses, streaming and not, in alternating windows of one run (a miss is
 * a prompt never sent before, a hit one stored before the windows), with the node's and
 * PostgreSQL's CPU per request (gross, and net of what each burns idle in a quiet window
 * after the measured ones); then a replayed workload of repeated prompts (N requests
 * drawn from M distinct prompts with a Zipf skew) and the hit ratio it gets against the
 * ratio an ideal cache would.
 */
final class CacheScenario {
  static final Set<String> OPTIONS = Set.of("concurrency", "duration", "warmup", "window", "chunks", "chunk-delay-ms",
      "requests", "prompts", "zipf", "replay-concurrency");
  private static final String KEY = "bench-key";

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int concurrency;
  private final Duration duration;
  private final Duration warmup;
  private final Duration window;
  private final int chunks;
  private final int chunkDelayMs;
  private final int requests;
  private final int prompts;
  private final double zipf;
  private final int replayConcurrency;
  /** This run's prompts are its own: a node's earlier entries never count. */
  private final String salt = UUID.randomUUID().toString().substring(0, 8);
  private final AtomicLong fresh = new AtomicLong();

  /** A case: hits or misses, streamed or not; {@code key}: the tenant's (with the cache, or without it). */
  private record Kind(boolean hit, boolean stream, String key, Case result) {}
  private static final String UNCACHED_KEY = "bench-uncached-key";

  CacheScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.concurrency = o.integer("concurrency", 16, 1, 1024);
    this.duration = o.duration("duration", Duration.ofSeconds(20));
    this.warmup = o.duration("warmup", Duration.ofSeconds(20));
    this.window = o.duration("window", Duration.ofSeconds(5));
    this.chunks = o.integer("chunks", 20, 1, 10_000);
    this.chunkDelayMs = o.integer("chunk-delay-ms", 5, 0, 10_000);
    this.requests = o.integer("requests", 1000, 1, 100_000);
    this.prompts = o.integer("prompts", 200, 1, 100_000);
    this.zipf = Double.parseDouble(o.text("zipf", "1.0"));
    this.replayConcurrency = o.integer("replay-concurrency", 8, 1, 1024);
  }

  void run(Report report) {
    Fleet.Launched mock = fleet.mockLlm(chunks, chunkDelayMs, 0);
    Fleet.Launched atrium = fleet.atrium(writeTenant(mock.baseUri().resolve("/v1")));
    Meter meter = new Meter()
        .watch("atrium", () -> Cpu.processNanos(atrium.pid()))
        .watch("mock", () -> Cpu.processNanos(mock.pid()));
    atrium.postgresPid().ifPresent(pg -> meter.watch("postgres", () -> Cpu.treeNanos(pg)));
    URI completions = atrium.baseUri().resolve("/v1/chat/completions");

    String stored = "bench " + salt + " the stored prompt";
    // Stored once (a streamed and a whole request share the key): every hit window asks it again.
    awaitStatus(request(completions, stored, false), "hit", 50);
    List<Kind> kinds = List.of(new Kind(false, false, KEY, new Case("miss non-stream")),
        new Kind(true, false, KEY, new Case("hit non-stream")), new Kind(false, true, KEY, new Case("miss stream")),
        new Kind(true, true, KEY, new Case("hit stream")),
        // The same fresh prompts for a tenant without the cache: what a miss costs beyond a plain call.
        new Kind(false, false, UNCACHED_KEY, new Case("no cache non-stream")));

    System.out.printf("%nwarming up for %d s (misses and hits, streaming and not)%n", warmup.toSeconds());
    int slices = warmup.isZero() ? 0 : kinds.size() * 2;
    for (int i = 0; i < slices; i++) {
      Kind k = kinds.get(i % kinds.size());
      Load.run("warmup", concurrency, worker -> client(k, completions, stored), warmup.dividedBy(slices), meter)
          .requireSuccess();
    }
    int rounds = (int) Math.max(1, Math.ceil((double) duration.toMillis() / window.toMillis()));
    Duration each = duration.dividedBy(rounds);
    System.out.printf("%nmeasuring %d round(s) of %d %.1f s windows, %d concurrent clients%n", rounds, kinds.size(),
        each.toMillis() / 1000.0, concurrency);
    for (int r = 0; r < rounds; r++) {
      List<Kind> order = new ArrayList<>(kinds);
      if (r % 2 == 1) {
        java.util.Collections.reverse(order);
      }
      for (Kind k : order) {
        Load.Window w = Load.run(k.result().name, concurrency, worker -> client(k, completions, stored), each, meter)
            .requireSuccess();
        k.result().add(w);
        System.out.printf("  [%d/%d] %-16s %8s/s  first p50 %7s ms  full p50 %7s ms  errors %d%n", r + 1, rounds,
            k.result().name, Report.fmt(w.perSecond()), Report.fmt(w.first().getValueAtPercentile(50) / 1000.0),
            Report.fmt(w.total().getValueAtPercentile(50) / 1000.0), w.errors());
      }
    }
    // What the node and PostgreSQL burn with no request (timers, projection polls, the JIT's
    // stragglers), after the windows: taken out of the per-request figures.
    Meter.Reading idleStart = meter.read();
    long idleFrom = System.nanoTime();
    pause(Duration.ofSeconds(5));
    Map<String, Long> idle = idleStart.cpuUntil(meter.read());
    double idleNanos = System.nanoTime() - idleFrom;
    Map<String, Object> replay = replay(completions, meter);
    print(kinds, idle, idleNanos, replay, report);
  }

  /** A client of a case: the stored prompt for hits, a prompt never sent before for each miss. */
  private Load.Client client(Kind k, URI completions, String stored) {
    return inFlight -> {
      String prompt = k.hit() ? stored : "bench " + salt + " fresh " + fresh.incrementAndGet();
      HttpRequest request = request(completions, k.key(), prompt, k.stream());
      return k.stream() ? http.sse(request, inFlight) : http.whole(request, 200, "\"content\"", inFlight, null);
    };
  }

  private static HttpRequest request(URI completions, String prompt, boolean stream) {
    return request(completions, KEY, prompt, stream);
  }

  private static HttpRequest request(URI completions, String key, String prompt, boolean stream) {
    String body = "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]"
        + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : ",\"stream\":false") + "}";
    return Http.post(completions, key, body.getBytes(StandardCharsets.UTF_8)).build();
  }

  /** The response's {@code x-atrium-cache}, the body read to its end. */
  private String cacheStatus(HttpRequest request) {
    try {
      HttpResponse<InputStream> response = http.client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        in.readAllBytes();
      }
      if (response.statusCode() != 200) {
        throw new Http.BadAnswer("HTTP " + response.statusCode());
      }
      return response.headers().firstValue("x-atrium-cache").orElse("none");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Sends {@code request} until it says {@code status} (its answer's write is behind the first call). */
  private void awaitStatus(HttpRequest request, String status, int tries) {
    String last = "";
    for (int i = 0; i < tries; i++) {
      last = cacheStatus(request);
      if (last.equals(status)) {
        return;
      }
      pause(Duration.ofMillis(100));
    }
    throw new IllegalStateException("the stored prompt never became a hit (last x-atrium-cache: " + last
        + "): is the tenant's response_cache on?");
  }

  /**
   * {@code requests} requests drawn from {@code prompts} distinct prompts, prompt i with
   * weight 1/i^zipf (seed 42), sent by {@code replayConcurrency} clients in order: hits and
   * misses as the node said them, against the ideal ratio (every repeat a hit).
   */
  private Map<String, Object> replay(URI completions, Meter meter) {
    double[] cumulative = new double[prompts];
    double sum = 0;
    for (int i = 0; i < prompts; i++) {
      sum += 1 / Math.pow(i + 1, zipf);
      cumulative[i] = sum;
    }
    Random random = new Random(42);
    int[] drawn = new int[requests];
    for (int r = 0; r < requests; r++) {
      double u = random.nextDouble() * sum;
      int i = java.util.Arrays.binarySearch(cumulative, u);
      drawn[r] = i >= 0 ? i : -i - 1;
    }
    long distinct = java.util.Arrays.stream(drawn).distinct().count();
    AtomicInteger next = new AtomicInteger();
    AtomicInteger hits = new AtomicInteger();
    AtomicInteger misses = new AtomicInteger();
    AtomicInteger errors = new AtomicInteger();
    Meter.Reading before = meter.read();
    long start = System.nanoTime();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < replayConcurrency; c++) {
      Thread client = new Thread(() -> {
        for (int r = next.getAndIncrement(); r < requests; r = next.getAndIncrement()) {
          try {
            String status = cacheStatus(request(completions, "bench " + salt + " replay prompt " + drawn[r], r % 2 == 0));
            (status.equals("hit") ? hits : misses).incrementAndGet();
          } catch (RuntimeException e) {
            errors.incrementAndGet();
          }
        }
      }, "replay-" + c);
      client.start();
      clients.add(client);
    }
    for (Thread t : clients) {
      try {
        t.join(Duration.ofMinutes(5).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Map<String, Long> cpu = before.cpuUntil(meter.read());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("requests", requests);
    m.put("distinct_prompts", prompts);
    m.put("zipf_exponent", zipf);
    m.put("prompts_drawn", distinct);
    m.put("clients", replayConcurrency);
    m.put("hits", hits.get());
    m.put("misses", misses.get());
    m.put("errors", errors.get());
    m.put("hit_ratio", Report.round(hits.get() / (double) requests));
    m.put("ideal_hit_ratio", Report.round(1 - distinct / (double) requests));
    m.put("requests_per_s", Report.round(requests / seconds));
    m.put("node_ms_per_request", Report.round(cpu.getOrDefault("atrium", 0L) / 1e6 / requests));
    m.put("postgres_ms_per_request", Report.round(cpu.getOrDefault("postgres", 0L) / 1e6 / requests));
    m.put("upstream_calls_saved", hits.get());
    return m;
  }

  private void print(List<Kind> kinds, Map<String, Long> idle, double idleNanos, Map<String, Object> replay,
      Report report) {
    System.out.printf("%nresults: %d concurrent clients, mock upstream %d chunks %d ms apart%n", concurrency, chunks,
        chunkDelayMs);
    double idleNode = idle.getOrDefault("atrium", 0L) / idleNanos;
    double idlePostgres = idle.getOrDefault("postgres", 0L) / idleNanos;
    List<List<String>> rows = new ArrayList<>();
    for (Kind k : kinds) {
      Case c = k.result();
      rows.add(List.of(c.name, Report.fmt(c.perSecond()), Report.fmt(c.firstMs(50)), Report.fmt(c.totalMs(50)),
          Report.fmt(c.totalMs(99)), Long.toString(c.errors()), Report.fmt(c.cpuMsPerRequest("atrium")),
          Report.fmt(netMs(c, "atrium", idleNode)),
          Report.fmt(netMs(c, "postgres", idlePostgres)), Report.fmt(c.cpuMsPerRequest("mock")),
          Report.fmt(c.machineBusy() * 100)));
    }
    Report.table(List.of("case", "req/s", "first p50", "full p50", "full p99", "errors", "node cpu ms/req",
        "net of idle", "postgres net", "mock cpu", "machine %"), rows);

    Case missWhole = kinds.get(0).result();
    Case hitWhole = kinds.get(1).result();
    Case missStream = kinds.get(2).result();
    Case hitStream = kinds.get(3).result();
    Case uncached = kinds.get(4).result();
    Map<String, Object> ratios = new LinkedHashMap<>();
    ratios.put("non_stream_uncached_p50_ms", Report.round(uncached.totalMs(50)));
    ratios.put("miss_added_p50_ms", Report.round(missWhole.totalMs(50) - uncached.totalMs(50)));
    ratios.put("miss_added_node_ms_per_request",
        Report.round(netMs(missWhole, "atrium", idleNode) - netMs(uncached, "atrium", idleNode)));
    ratios.put("miss_added_postgres_ms_per_request",
        Report.round(netMs(missWhole, "postgres", idlePostgres) - netMs(uncached, "postgres", idlePostgres)));
    ratios.put("non_stream_hit_p50_ms", Report.round(hitWhole.totalMs(50)));
    ratios.put("non_stream_miss_p50_ms", Report.round(missWhole.totalMs(50)));
    ratios.put("non_stream_hit_over_miss_p50", Report.round(hitWhole.totalMs(50) / missWhole.totalMs(50)));
    ratios.put("stream_hit_p50_ms", Report.round(hitStream.totalMs(50)));
    ratios.put("stream_miss_p50_ms", Report.round(missStream.totalMs(50)));
    ratios.put("stream_hit_over_miss_p50", Report.round(hitStream.totalMs(50) / missStream.totalMs(50)));
    ratios.put("stream_hit_first_token_p50_ms", Report.round(hitStream.firstMs(50)));
    ratios.put("stream_miss_first_token_p50_ms", Report.round(missStream.firstMs(50)));
    ratios.put("node_idle_cores", Report.round(idleNode));
    ratios.put("postgres_idle_cores", Report.round(idlePostgres));
    System.out.printf("%nhits against misses:%n");
    ratios.forEach((name, v) -> System.out.printf("  %-34s %s%n", name, v == null ? "-" : Report.fmt((Double) v)));
    System.out.printf("%nreplayed workload (%d requests from %d prompts, Zipf s=%s, %d clients):%n", requests, prompts,
        zipf, replayConcurrency);
    replay.forEach((name, v) -> System.out.printf("  %-34s %s%n", name, v));

    System.out.printf("%ntargets:%n");
    report.target("non-stream hit p50 / miss p50", hitWhole.totalMs(50) / missWhole.totalMs(50), "<=", 0.5, "");
    report.target("latency a miss adds to a plain call, p50", missWhole.totalMs(50) - uncached.totalMs(50), "<=", 5,
        "ms");
    report.target("replayed hit ratio / ideal", (Double) replay.get("hit_ratio") / (Double) replay.get("ideal_hit_ratio"),
        ">=", 0.95, "");
    report.target("errors", kinds.stream().mapToLong(k -> k.result().errors()).sum()
        + ((Number) replay.get("errors")).longValue(), "<=", 0, "");

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("concurrency", concurrency);
    config.put("duration_s_per_case", duration.toMillis() / 1000.0);
    config.put("warmup_s", warmup.toMillis() / 1000.0);
    config.put("window_s", window.toMillis() / 1000.0);
    config.put("chunks", chunks);
    config.put("chunk_delay_ms", chunkDelayMs);
    report.put("config", config)
        .put("cases", kinds.stream().map(k -> k.result().toJson()).toList())
        .put("ratios", ratios)
        .put("replay", replay);
  }

  /** A process's CPU per completed request of a case, in ms, without what it spends idle. */
  private static double netMs(Case c, String process, double idleCores) {
    return (c.cores(process) - idleCores) / c.perSecond() * 1000;
  }

  private static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * A tenants folder holding two tenants whose model {@code mock} is the mock upstream: one
   * with the response cache ({@code bench}), one without ({@code uncached}).
   */
  private Path writeTenant(URI mockV1) {
    Map<String, Object> tenant = BenchTenants.mockTenant("bench", KEY, mockV1);
    tenant.put("features", Map.of("response_cache", true));
    tenant.put("response_cache", Map.of("ttl_seconds", 3600));
    BenchTenants.write(runDir, "uncached", BenchTenants.mockTenant("uncached", UNCACHED_KEY, mockV1));
    return BenchTenants.write(runDir, "bench", tenant);
  }
}
