package dev.atrium.bench;

import java.io.Closeable;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code ./atrium bench limits}: (a) rate-limit decisions per second through HTTP, many keys
 * each with its own bucket, against routes that skip the limiter, in alternating windows of
 * one run; (b) the accuracy of one hot bucket that many clients drain at once.
 */
final class LimitsScenario {
  static final Set<String> OPTIONS = Set.of("concurrency", "duration", "warmup", "window", "hot-clients", "hot-seconds");
  private static final String TENANT = "bench";
  private static final String HOT_TENANT = "bench-hot";
  private static final Allowance HOT_BUCKET = new Allowance(20, 10);
  private static final String HOT_KEY = "bench-hot-key";
  /** Another key of the hot tenant: the smoke test proves the tenant's limits are in force without touching the hot bucket. */
  private static final String HOT_SMOKE_KEY = "bench-hot-smoke";

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int concurrency;
  private final Duration duration;
  private final Duration warmup;
  private final Duration window;
  private final int hotClients;
  private final Duration hotSeconds;

  /** A measured route; {@code keyed} routes spend a token of the worker's own key per request. */
  private record Kind(String label, String path, boolean keyed, Case result, LongAdder denied) {}

  LimitsScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.concurrency = o.integer("concurrency", 64, 1, 4096);
    this.duration = o.duration("duration", Duration.ofSeconds(30));
    this.warmup = o.duration("warmup", Duration.ofSeconds(20));
    this.window = o.duration("window", Duration.ofSeconds(10));
    this.hotClients = o.integer("hot-clients", 50, 1, 4096);
    this.hotSeconds = o.seconds("hot-seconds", Duration.ofSeconds(60));
  }

  static String key(int i) {
    return "bench-key-" + i;
  }

  void run(Report report) {
    Fleet.Launched atrium = fleet.atrium(writeTenants());
    Meter meter = new Meter().watch("atrium", () -> Cpu.processNanos(atrium.pid()));
    URI base = atrium.baseUri();
    // /v1/tenant resolves the key and asks its bucket (route class default); /alive and
    // /health do neither, and /health also pings the database on every request.
    List<Kind> kinds = List.of(
        new Kind("limiter: GET /v1/tenant", "/v1/tenant", true, new Case("GET /v1/tenant"), new LongAdder()),
        new Kind("no limiter: GET /alive", "/alive", false, new Case("GET /alive"), new LongAdder()),
        new Kind("no limiter: GET /health", "/health", false, new Case("GET /health"), new LongAdder()));
    smokeTest(base, kinds);

    if (!warmup.isZero()) {
      int slices = Math.max(1, (int) (warmup.toSeconds() / 5));
      System.out.printf("%nwarming up for %d s (%d slices over the three routes)%n", warmup.toSeconds(), slices);
      for (int i = 0; i < slices; i++) {
        Kind k = kinds.get(i % 3 == 2 ? 1 : 0);
        Load.Window w = Load.run("warmup", concurrency, worker -> client(base, k, worker), warmup.dividedBy(slices), meter)
            .requireSuccess();
        System.out.printf("  warm-up %-26s %8s/s  errors %d%s%n", k.label(), Report.fmt(w.perSecond()), w.errors(),
            w.errorSamples().isEmpty() ? "" : " (" + w.errorSamples().get(0) + ")");
      }
    }
    JdkTools.Jit jitBefore = JdkTools.jit(atrium.pid());
    int rounds = (int) Math.max(1, Math.ceil((double) duration.toMillis() / window.toMillis()));
    Duration each = duration.dividedBy(rounds);
    System.out.printf("%nmeasuring %d round(s) of three %.1f s windows, %d concurrent clients on %d keys%n", rounds,
        each.toMillis() / 1000.0, concurrency, concurrency);
    for (int r = 0; r < rounds; r++) {
      List<Kind> order = new ArrayList<>(kinds);
      if (r % 2 == 1) {
        // The limiter's window goes last every other round, so neither side always follows the other.
        order.add(order.remove(0));
      }
      for (Kind k : order) {
        Load.Window w = Load.run(k.label(), concurrency, worker -> client(base, k, worker), each, meter).requireSuccess();
        k.result().add(w);
        System.out.printf("  [%d/%d] %-26s %8s/s  p50 %6s ms  p99 %6s ms  errors %d  atrium %.2f cores  machine %.0f%%%n",
            r + 1, rounds, k.label(), Report.fmt(w.perSecond()), Report.fmt(Case.ms(w.total(), 50)),
            Report.fmt(Case.ms(w.total(), 99)), w.errors(), w.cpuNanos().get("atrium") / (double) w.nanos(),
            w.machineBusy() * 100);
      }
    }
    JdkTools.Jit jitAfter = JdkTools.jit(atrium.pid());
    Map<String, Object> hot = hotKey(base, meter);
    print(kinds, hot, report);
    report.jit(jitBefore, jitAfter);
  }

  /** One worker: its own key (so its own bucket), or no credential at all. */
  private Load.Client client(URI base, Kind k, int worker) {
    HttpRequest request = Http.get(base.resolve(k.path()), k.keyed() ? key(worker % concurrency) : null).build();
    return inFlight -> {
      Http.Answer a = http.exchange(request, inFlight);
      if (a.status() == 429 && k.keyed()) {
        k.denied().increment();
      } else if (a.status() != 200) {
        throw new Http.BadAnswer("HTTP " + a.status() + ": " + Http.abbreviate(a.body()));
      }
      return a.timing();
    };
  }

  private void smokeTest(URI base, List<Kind> kinds) {
    try {
      for (Kind k : kinds) {
        client(base, k, 0).next(new AtomicReference<>());
      }
      // The hot tenant's own limits must be the ones in force: RateLimit-Policy names them.
      HttpRequest probe = Http.get(base.resolve("/v1/tenant"), HOT_SMOKE_KEY).build();
      String policy = http.headers(probe).firstValue("RateLimit-Policy").orElse("(none)");
      if (!policy.contains("q=" + HOT_BUCKET.capacity())) {
        throw new IllegalStateException("the hot tenant's bucket is not the configured one: RateLimit-Policy " + policy);
      }
    } catch (IllegalStateException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("smoke test failed: " + e.getMessage(), e);
    }
  }

  /**
   * N clients in a closed loop on one key of a bucket of 20 at 10/s, never pausing on a 429,
   * for a fixed time; every answer is counted, including those of requests sent just before
   * the end (their decisions fall in the window).
   */
  private Map<String, Object> hotKey(URI base, Meter meter) {
    System.out.printf("%nhot key: %d clients on one key, bucket of %d refilled at %s/s, for %d s%n", hotClients,
        HOT_BUCKET.capacity(), Report.fmt(HOT_BUCKET.refillPerSecond()), hotSeconds.toSeconds());
    HttpRequest request = Http.get(base.resolve("/v1/tenant"), HOT_KEY).build();
    LongAdder allowed = new LongAdder();
    LongAdder denied = new LongAdder();
    AtomicLong firstSent = new AtomicLong(Long.MAX_VALUE);
    LongAccumulator lastAnswered = new LongAccumulator(Math::max, Long.MIN_VALUE);
    Load.Window w = Load.run("hot", hotClients, worker -> inFlight -> {
      long sent = System.nanoTime();
      firstSent.accumulateAndGet(sent, Math::min);
      Http.Answer a = http.exchange(request, inFlight);
      lastAnswered.accumulate(System.nanoTime());
      switch (a.status()) {
        case 200 -> allowed.increment();
        case 429 -> denied.increment();
        default -> throw new Http.BadAnswer("HTTP " + a.status() + ": " + Http.abbreviate(a.body()));
      }
      return a.timing();
    }, hotSeconds, meter);

    double seconds = hotSeconds.toMillis() / 1000.0;
    long theoretical = HOT_BUCKET.theoretical(seconds);
    // The span in which the bucket can have decided: from the first request sent to the last answer.
    double span = lastAnswered.get() > firstSent.get() ? (lastAnswered.get() - firstSent.get()) / 1e9 : seconds;
    Map<String, Object> hot = new LinkedHashMap<>();
    hot.put("clients", hotClients);
    hot.put("seconds", seconds);
    hot.put("capacity", HOT_BUCKET.capacity());
    hot.put("refill_per_second", HOT_BUCKET.refillPerSecond());
    hot.put("allowed", allowed.sum());
    hot.put("denied", denied.sum());
    hot.put("errors", w.errors());
    hot.put("error_samples", w.errorSamples());
    hot.put("theoretical", theoretical);
    hot.put("ratio", Report.round(Allowance.ratio(allowed.sum(), theoretical)));
    hot.put("observed_span_s", Report.round(span));
    hot.put("theoretical_over_observed_span", HOT_BUCKET.theoretical(span));
    hot.put("decisions_per_second", Report.round((allowed.sum() + denied.sum()) / seconds));
    hot.put("latency_ms", Case.percentiles(w.total()));
    hot.put("atrium_cpu_cores", Report.round(w.cpuNanos().get("atrium") / (double) w.nanos()));
    return hot;
  }

  private void print(List<Kind> kinds, Map<String, Object> hot, Report report) {
    System.out.printf("%nresults: %d concurrent clients, each on its own key (bucket) for the limiter's route%n",
        concurrency);
    List<List<String>> rows = new ArrayList<>();
    for (Kind k : kinds) {
      Case c = k.result();
      rows.add(List.of(c.name, Report.fmt(c.perSecond()), Long.toString(k.denied().sum()), Report.fmt(c.totalMs(50)),
          Report.fmt(c.totalMs(99)), Long.toString(c.errors()), Report.fmt(c.cpuMsPerRequest("atrium") * 1000),
          Report.fmt(c.cpuMsPerRequest("bench") * 1000), Report.fmt(c.machineBusy() * 100)));
    }
    Report.table(List.of("route", "req/s", "denied", "p50 ms", "p99 ms", "errors", "atrium cpu µs/req",
        "bench cpu µs/req", "machine %"), rows);
    Case limiter = kinds.get(0).result();
    double aliveRatio = limiter.perSecond() / kinds.get(1).result().perSecond();
    double healthRatio = limiter.perSecond() / kinds.get(2).result().perSecond();
    System.out.printf("%n  limiter route against /alive: %s× the throughput; against /health: %s×%n",
        Report.fmt(aliveRatio), Report.fmt(healthRatio));

    double ratio = hot.get("ratio") instanceof Double d ? d : Double.NaN;
    System.out.printf("%nhot key: %s allowed, %s denied, %s errors in %s s; theoretical %s (%d + %s/s × %s s): ratio %s%n",
        hot.get("allowed"), hot.get("denied"), hot.get("errors"), hot.get("seconds"), hot.get("theoretical"),
        HOT_BUCKET.capacity(), Report.fmt(HOT_BUCKET.refillPerSecond()), hot.get("seconds"), Report.fmt(ratio));
    System.out.printf("  (from the first request sent to the last answer: %s s, in which an exact bucket grants %s;"
        + " %s decisions/s)%n", hot.get("observed_span_s"), hot.get("theoretical_over_observed_span"),
        hot.get("decisions_per_second"));

    System.out.printf("%ntargets:%n");
    report.target("rate-limit decisions per second (one node)", limiter.perSecond(), ">=", 10_000, "/s");
    report.target("hot key: allowed / theoretical", ratio, ">=", Allowance.MIN_RATIO, "");
    report.target("hot key: allowed / theoretical", ratio, "<=", Allowance.MAX_RATIO, "");

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("concurrency", concurrency);
    config.put("keys", concurrency);
    config.put("duration_s_per_case", duration.toMillis() / 1000.0);
    config.put("warmup_s", warmup.toMillis() / 1000.0);
    config.put("window_s", window.toMillis() / 1000.0);
    Map<String, Object> ratios = new LinkedHashMap<>();
    ratios.put("limiter_over_alive", Report.round(aliveRatio));
    ratios.put("limiter_over_health", Report.round(healthRatio));
    List<Map<String, Object>> cases = new ArrayList<>();
    for (Kind k : kinds) {
      Map<String, Object> json = k.result().toJson();
      json.put("denied", k.denied().sum());
      cases.add(json);
    }
    report.put("config", config).put("cases", cases).put("ratios", ratios).put("hot_key", hot);
  }

  /** Two tenants: one with a key per client and buckets far above the load, one with the small hot bucket. */
  private Path writeTenants() {
    List<Map<String, Object>> keys = new ArrayList<>();
    for (int i = 0; i < concurrency; i++) {
      keys.add(BenchTenants.apiKey("k_" + i, key(i)));
    }
    BenchTenants.write(runDir, TENANT, BenchTenants.tenant(TENANT, keys, BenchTenants.unlimitedRateLimits()));
    Map<String, Object> hotBucket = Map.of("capacity", HOT_BUCKET.capacity(),
        "refill_per_second", HOT_BUCKET.refillPerSecond());
    Map<String, Object> hotLimits = Map.of("default", Map.of("free", hotBucket, "paid", hotBucket));
    return BenchTenants.write(runDir, HOT_TENANT, BenchTenants.tenant(HOT_TENANT,
        List.of(BenchTenants.apiKey("k_hot", HOT_KEY), BenchTenants.apiKey("k_hot_smoke", HOT_SMOKE_KEY)), hotLimits));
  }
}
