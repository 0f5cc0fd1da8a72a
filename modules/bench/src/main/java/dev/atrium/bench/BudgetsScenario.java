package dev.atrium.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code ./atrium bench budgets}: (a) exactness: {@code --burst} concurrent calls at once
 * against a tenant whose daily token cap admits half of them at its hard-limit ratio, the
 * answers slow enough that every call holds its reservation before any settles: successes
 * against what the ratio admits, and what was spent (usage_events) against the limit; (b)
 * cost: calls of one tenant (one Budget entity) on a node with budgets on and on the same
 * build with budgets off, in alternating windows: reservations per second the entity
 * serves, and the node's CPU per call on each, whose difference is what a reservation and
 * its settlement cost.
 */
final class BudgetsScenario {
  static final Set<String> OPTIONS = Set.of("burst", "concurrency", "duration", "warmup", "window");
  private static final String UNBUDGETED = "atrium-unbudgeted";
  private static final String KEY = "bench-budget-key";
  /** "hi" as a prompt is 8 tokens; with max_tokens 10 a call holds 18. */
  private static final int HELD_PER_CALL = 18;
  private static final double RATIO = 0.9;

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int burst;
  private final int concurrency;
  private final Duration duration;
  private final Duration warmup;
  private final Duration window;

  BudgetsScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.burst = o.integer("burst", 200, 2, 2000);
    this.concurrency = o.integer("concurrency", 32, 1, 4096);
    this.duration = o.duration("duration", Duration.ofSeconds(20));
    this.warmup = o.duration("warmup", Duration.ofSeconds(15));
    this.window = o.duration("window", Duration.ofSeconds(5));
  }

  void run(Report report) {
    try {
      measure(report);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (Exception e) {
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }
  }

  private void measure(Report report) throws Exception {
    Fleet.Launched slow = fleet.mockLlm("mock-llm-slow", 10, 0, 1500);
    Fleet.Launched fast = fleet.mockLlm(10, 0, 0);
    int admits = burst / 2;
    // The cap whose ratio admits exactly half the burst.
    long cap = (long) Math.ceil(admits * HELD_PER_CALL / RATIO);
    Path tenants = writeTenants(slow.baseUri().resolve("/v1"), fast.baseUri().resolve("/v1"), cap);
    Fleet.Launched on = fleet.atrium(tenants);
    Fleet.Launched off = fleet.atrium(UNBUDGETED, tenants, null, Map.of("ATRIUM_BUDGETS_ENABLED", "false"));
    Meter meter = new Meter()
        .watch("atrium", () -> Cpu.processNanos(on.pid()))
        .watch(UNBUDGETED, () -> Cpu.processNanos(off.pid()));
    on.postgresPid().ifPresent(pg -> meter.watch("postgres", () -> Cpu.treeNanos(pg)));
    off.postgresPid().ifPresent(pg -> meter.watch("postgres-" + UNBUDGETED, () -> Cpu.treeNanos(pg)));

    Map<String, Object> exactness = exactness(on, cap, admits);

    Case budgeted = new Case("budgets on");
    Case unbudgeted = new Case("budgets off");
    Case idle = new Case("direct to the mock");
    String direct = "{\"model\":\"mock-model\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    HttpRequest directRequest = Http.post(fast.baseUri().resolve("/v1/chat/completions"), null,
        direct.getBytes(StandardCharsets.UTF_8)).build();
    Load.Client directClient = inFlight -> http.whole(directRequest, 200, "\"content\"", inFlight, null);
    HttpRequest onRequest = call(on.baseUri(), "bench-fast", false);
    HttpRequest offRequest = call(off.baseUri(), "bench-fast", false);
    Load.Client onClient = inFlight -> http.whole(onRequest, 200, "\"content\"", inFlight, null);
    Load.Client offClient = inFlight -> http.whole(offRequest, 200, "\"content\"", inFlight, null);
    onClient.next(new AtomicReference<>());
    offClient.next(new AtomicReference<>());
    int slices = Math.max(2, (int) (warmup.toSeconds() / 5) / 2 * 2);
    System.out.printf("%nwarming up both nodes for %d s%n", warmup.toSeconds());
    for (int i = 0; i < slices; i++) {
      Load.Client c = i % 2 == 0 ? onClient : offClient;
      Load.run("warmup", concurrency, w -> c, warmup.dividedBy(slices), meter).requireSuccess();
    }
    int rounds = (int) Math.max(1, Math.ceil((double) duration.toMillis() / window.toMillis()));
    Duration each = duration.dividedBy(rounds);
    System.out.printf("%nmeasuring %d round(s) of %.1f s windows, %d concurrent clients, one tenant%n", rounds,
        each.toMillis() / 1000.0, concurrency);
    for (int r = 0; r < rounds; r++) {
      boolean onFirst = r % 2 == 0;
      for (int k = 0; k < 3; k++) {
        int which = onFirst ? k : 2 - k;
        // The middle window calls the mock directly: neither node serves, what each burns then is no call's.
        Case c = which == 0 ? budgeted : which == 1 ? idle : unbudgeted;
        Load.Client client = which == 0 ? onClient : which == 1 ? directClient : offClient;
        Load.Window w = Load.run(c.name, concurrency, worker -> client, each, meter).requireSuccess();
        c.add(w);
        System.out.printf("  [%d/%d] %-12s %8s/s  p50 %6s ms  errors %d%n", r + 1, rounds, c.name,
            Report.fmt(w.perSecond()), Report.fmt(w.total().getValueAtPercentile(50) / 1000.0), w.errors());
      }
    }
    double idleOn = idle.cores("atrium");
    double idleOff = idle.cores(UNBUDGETED);
    double onMs = (budgeted.cores("atrium") - idleOn) / budgeted.perSecond() * 1000;
    double offMs = (unbudgeted.cores(UNBUDGETED) - idleOff) / unbudgeted.perSecond() * 1000;
    Map<String, Object> cost = new LinkedHashMap<>();
    cost.put("reservations_per_s_one_tenant", Report.round(budgeted.perSecond()));
    cost.put("calls_per_s_budgets_off", Report.round(unbudgeted.perSecond()));
    cost.put("node_ms_per_call_budgets_on", Report.round(onMs));
    cost.put("node_ms_per_call_budgets_off", Report.round(offMs));
    cost.put("node_us_per_reservation", Report.round((onMs - offMs) * 1000));
    cost.put("postgres_ms_per_call_budgets_on", Report.round(budgeted.cpuMsPerRequest("postgres")));
    cost.put("postgres_ms_per_call_budgets_off", Report.round(unbudgeted.cpuMsPerRequest("postgres-" + UNBUDGETED)));
    cost.put("p50_ms_budgets_on", Report.round(budgeted.totalMs(50)));
    cost.put("p50_ms_budgets_off", Report.round(unbudgeted.totalMs(50)));
    cost.put("node_idle_cores_on", Report.round(idleOn));
    cost.put("node_idle_cores_off", Report.round(idleOff));
    System.out.printf("%ncost: one tenant's calls with budgets on and off (CPU net of each node's idle):%n");
    cost.forEach((name, v) -> System.out.printf("  %-36s %s%n", name, v == null ? "-" : Report.fmt((Double) v)));

    System.out.printf("%ntargets:%n");
    report.target("overshoot over the limit", ((Number) exactness.get("overshoot_tokens")).doubleValue(), "<=", 0, "");
    report.target("successes off what the ratio admits",
        Math.abs(((Number) exactness.get("successes")).doubleValue() - admits), "<=", 1, "");
    report.target("node CPU per reservation", (onMs - offMs) * 1000, "<=", 30, "us");
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("burst", burst);
    config.put("concurrency", concurrency);
    config.put("duration_s_per_case", duration.toMillis() / 1000.0);
    config.put("warmup_s", warmup.toMillis() / 1000.0);
    config.put("window_s", window.toMillis() / 1000.0);
    report.put("config", config).put("exactness", exactness).put("cost", cost)
        .put("cases", List.of(budgeted.toJson(), unbudgeted.toJson(), idle.toJson()));
  }

  /** The burst at once, then what usage_events says was spent. */
  private Map<String, Object> exactness(Fleet.Launched on, long cap, int admits) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest request = call(on.baseUri(), "bench-cap", true);
    System.out.printf("%nexactness: %d calls at once, cap %d tokens a day at %.1f (limit %d), %d held per call%n",
        burst, cap, RATIO, (long) Math.floor(cap * RATIO), HELD_PER_CALL);
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = 0; i < burst; i++) {
      calls.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
    double seconds = (System.nanoTime() - start) / 1e9;
    long ok = calls.stream().filter(c -> c.join().statusCode() == 200).count();
    long refused = calls.stream().filter(c -> c.join().statusCode() == 429).count();
    long other = burst - ok - refused;
    long limit = (long) Math.floor(cap * RATIO);
    String url = "jdbc:postgresql://127.0.0.1:" + on.postgresPort() + "/atrium";
    long spent = 0;
    long rows = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    try (Connection c = DriverManager.getConnection(url, p)) {
      while (System.nanoTime() < deadline) {
        try (ResultSet rs = c.createStatement().executeQuery("select count(*), coalesce(sum(tokens_in + tokens_out), 0)"
            + " from usage_events where tenant_id = 'bench-cap'")) {
          rs.next();
          rows = rs.getLong(1);
          spent = rs.getLong(2);
        }
        if (rows >= ok) {
          break;
        }
        Thread.sleep(100);
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("calls", burst);
    m.put("successes", ok);
    m.put("refused_429", refused);
    m.put("other_statuses", other);
    m.put("ratio_admits", admits);
    m.put("cap_tokens", cap);
    m.put("limit_tokens", limit);
    m.put("spent_tokens", spent);
    m.put("usage_rows", rows);
    m.put("overshoot_tokens", Math.max(0, spent - limit));
    m.put("burst_seconds", Report.round(seconds));
    m.forEach((name, v) -> System.out.printf("  %-20s %s%n", name, v));
    return m;
  }

  private static HttpRequest call(URI base, String tenantModelKey, boolean capped) {
    String body = "{\"model\":\"mock\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    return Http.post(base.resolve("/v1/chat/completions"), capped ? KEY + "-cap" : KEY + "-fast",
        body.getBytes(StandardCharsets.UTF_8)).build();
  }

  /** bench-cap (the exactness cap, on the slow mock) and bench-fast (caps it never reaches, on the fast one). */
  private Path writeTenants(URI slowV1, URI fastV1, long cap) {
    Path dir = null;
    for (var t : List.of(Map.entry("bench-cap", slowV1), Map.entry("bench-fast", fastV1))) {
      boolean capped = t.getKey().equals("bench-cap");
      Map<String, Object> tenant = BenchTenants.tenant(t.getKey(),
          List.of(BenchTenants.apiKey("k_" + (capped ? "cap" : "fast"), capped ? KEY + "-cap" : KEY + "-fast")),
          BenchTenants.unlimitedRateLimits());
      tenant.put("models", Map.of("default_model", "mock",
          "models", Map.of("mock", Map.of("provider", "mock", "upstream_model", "mock-model")),
          "providers", Map.of("mock", Map.of("type", "openai", "base_url", t.getValue().toString(),
              "timeout_ms", 60_000, "max_retries", 0))));
      Map<String, Object> caps = capped ? Map.of("daily_tokens", cap)
          : Map.of("daily_tokens", 1_000_000_000_000L, "monthly_tokens", 1_000_000_000_000L);
      tenant.put("budgets", capped ? Map.of("hard_limit_ratio", RATIO, "tenant", caps)
          : Map.of("tenant", caps, "per_key", caps));
      dir = BenchTenants.write(runDir, t.getKey(), tenant);
    }
    return dir;
  }
}
