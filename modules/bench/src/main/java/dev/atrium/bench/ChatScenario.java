package dev.atrium.bench;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code ./atrium bench chat}: the same mock upstream measured directly and through Atrium's
 * {@code POST /v1/chat/completions}, streaming and not, in alternating windows of one run,
 * so that both sides see the same machine (and the same noise on it). With
 * {@code --anthropic yes} (the default) also the Anthropic protocol: the mock's
 * {@code POST /v1/messages} streamed directly and through Atrium's {@code /v1/messages} to a
 * model on an {@code anthropic} provider of the same mock, in the same windows.
 */
final class ChatScenario {
  static final Set<String> OPTIONS = Set.of("concurrency", "duration", "warmup", "window", "chunks", "chunk-delay-ms",
      "first-token-delay-ms", "chunks-compare", "node-root", "compare-metering", "compare-budgets", "anthropic");
  /** The second node of {@code --compare-metering yes}: the same build with usage metering off. */
  private static final String UNMETERED = "atrium-unmetered";
  /** The second node of {@code --compare-budgets yes}: the same build with budgets off (the tenant has caps). */
  private static final String UNBUDGETED = "atrium-unbudgeted";
  private static final String KEY = "bench-key";
  /** The environment variable the node reads the Anthropic provider's key from (the mock wants one; any will do). */
  private static final String ANTHROPIC_KEY_ENV = "ATRIUM_BENCH_ANTHROPIC_KEY";
  private static final String ANTHROPIC_KEY = "bench-upstream-key";
  private static final String PROMPT = "Write a short note about load testing a streaming proxy.";

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int concurrency;
  private final Duration duration;
  private final Duration warmup;
  private final Duration window;
  private final int chunks;
  private final int chunkDelayMs;
  private final int firstTokenDelayMs;
  /** The chunks of the short streams measured beside the long ones (0: none). */
  private final int compareChunks;
  /** The checkout whose node is measured: this one, or another (a baseline) with the same bench and mock. */
  private final Path nodeRoot;
  /** Also measure the same build with usage metering off, on a second node, in the same windows. */
  private final boolean compareMetering;
  /** Also measure the same build with budgets off, on a second node, in the same windows; the tenant has caps. */
  private final boolean compareBudgets;
  /** The second node's name, or null without a comparison. */
  private final String other;
  /** Also measure the Anthropic protocol's stream, directly and through Atrium's /v1/messages. */
  private final boolean anthropic;

  /** Where one case sends its requests: the mock itself or Atrium in front of it, in OpenAI's protocol or Anthropic's. */
  record Target(String name, URI url, String apiKey, String model, boolean anthropic) {
    Target(String name, URI url, String apiKey, String model) {
      this(name, url, apiKey, model, false);
    }
  }

  /**
   * A target and a mode: one of the measured cases. {@code maxTokens} above 0 caps the mock's
   * answer at that many chunks (the short streams of the marginal cost per chunk).
   */
  private record Kind(Target target, boolean stream, int maxTokens, Case result) {
    Kind(Target target, boolean stream, Case result) {
      this(target, stream, 0, result);
    }

    String label() {
      return result.name;
    }
  }

  ChatScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.concurrency = o.integer("concurrency", 64, 1, 4096);
    this.duration = o.duration("duration", Duration.ofSeconds(30));
    this.warmup = o.duration("warmup", Duration.ofSeconds(20));
    this.window = o.duration("window", Duration.ofSeconds(10));
    this.chunks = o.integer("chunks", 20, 1, 100_000);
    this.chunkDelayMs = o.integer("chunk-delay-ms", 10, 0, 60_000);
    this.firstTokenDelayMs = o.integer("first-token-delay-ms", 0, 0, 60_000);
    this.compareChunks = o.integer("chunks-compare", 1, 0, 100_000);
    if (compareChunks >= chunks) {
      throw new IllegalArgumentException("--chunks-compare must be below --chunks (" + chunks + "), or 0");
    }
    String other = o.text("node-root", null);
    this.nodeRoot = other == null ? null : Path.of(other).toAbsolutePath().normalize();
    this.compareMetering = o.choice("compare-metering", "no", Set.of("yes", "no")).equals("yes");
    this.compareBudgets = o.choice("compare-budgets", "no", Set.of("yes", "no")).equals("yes");
    if (compareMetering && compareBudgets) {
      throw new IllegalArgumentException("--compare-metering and --compare-budgets: one comparison per run");
    }
    this.other = compareMetering ? UNMETERED : compareBudgets ? UNBUDGETED : null;
    this.anthropic = o.choice("anthropic", "yes", Set.of("yes", "no")).equals("yes");
  }

  void run(Report report) {
    Fleet.Launched mock = fleet.mockLlm(chunks, chunkDelayMs, firstTokenDelayMs);
    Path tenants = writeTenant(mock.baseUri().resolve("/v1"));
    Fleet.Launched atrium = fleet.atrium("atrium", tenants, nodeRoot,
        anthropic ? Map.of(ANTHROPIC_KEY_ENV, ANTHROPIC_KEY) : Map.of());
    Meter meter = new Meter()
        .watch("atrium", () -> Cpu.processNanos(atrium.pid()))
        .watch("mock", () -> Cpu.processNanos(mock.pid()));
    atrium.postgresPid().ifPresent(pg -> meter.watch("postgres", () -> Cpu.treeNanos(pg)));
    Fleet.Launched unmetered = null;
    if (other != null) {
      unmetered = fleet.atrium(other, tenants, nodeRoot,
          Map.of(compareMetering ? "ATRIUM_USAGE_ENABLED" : "ATRIUM_BUDGETS_ENABLED", "false"));
      Fleet.Launched off = unmetered;
      meter.watch(other, () -> Cpu.processNanos(off.pid()));
      off.postgresPid().ifPresent(pg -> meter.watch("postgres-" + other, () -> Cpu.treeNanos(pg)));
    }
    Target direct = new Target("direct", mock.baseUri().resolve("/v1/chat/completions"), null, "mock-model");
    Target through = new Target("atrium", atrium.baseUri().resolve("/v1/chat/completions"), KEY, "mock");
    List<Kind> kinds = new ArrayList<>(List.of(new Kind(direct, true, new Case("direct stream")),
        new Kind(through, true, new Case("atrium stream")),
        new Kind(direct, false, new Case("direct non-stream")),
        new Kind(through, false, new Case("atrium non-stream"))));
    if (compareChunks > 0) {
      kinds.add(new Kind(through, true, compareChunks, new Case("atrium stream " + compareChunks + "-chunk")));
    }
    Kind anthropicDirect = null;
    Kind anthropicThrough = null;
    if (anthropic) {
      anthropicDirect = new Kind(new Target("direct", mock.baseUri().resolve("/v1/messages"), null, "mock-model", true),
          true, new Case("direct anthropic stream"));
      anthropicThrough = new Kind(new Target("atrium", atrium.baseUri().resolve("/v1/messages"), KEY, "mock-anthropic",
          true), true, new Case("atrium anthropic stream"));
      kinds.add(anthropicDirect);
      kinds.add(anthropicThrough);
    }
    if (unmetered != null) {
      Target off = new Target(other, unmetered.baseUri().resolve("/v1/chat/completions"), KEY, "mock");
      String label = compareMetering ? "unmetered" : "unbudgeted";
      kinds.add(new Kind(off, true, new Case(label + " stream")));
      kinds.add(new Kind(off, false, new Case(label + " non-stream")));
    }
    List<Kind> warmed = kinds.stream().filter(k -> !k.target().name().equals("direct") && k.maxTokens() == 0).toList();
    smokeTest(kinds);

    // Warm-up goes through Atrium only: it exercises the mock's two endpoints and the bench's
    // own code just as the direct cases do, and Atrium's JIT needs the time most.
    int warmSlices = warmup.isZero() ? 0 : Math.max(2, (int) (warmup.toSeconds() / 5) / 2 * 2);
    Duration slice = warmup.dividedBy(Math.max(1, warmSlices));
    System.out.printf("%nwarming up through Atrium for %d s (%d slices, streaming and not)%n", warmup.toSeconds(), warmSlices);
    if (warmSlices > 0) {
      warmSlices = Math.max(warmSlices, warmed.size()) / warmed.size() * warmed.size();
      slice = warmup.dividedBy(warmSlices);
    }
    for (int i = 0; i < warmSlices; i++) {
      Kind k = warmed.get(i % warmed.size());
      Load.Window w = Load.run("warmup", concurrency, worker -> client(k), slice, meter).requireSuccess();
      System.out.printf("  warm-up %-18s %8s/s  errors %d%s%n", k.label(), Report.fmt(w.perSecond()), w.errors(),
          w.errorSamples().isEmpty() ? "" : " (" + w.errorSamples().get(0) + ")");
    }
    JdkTools.Jit jitBefore = JdkTools.jit(atrium.pid());
    JdkTools.Jit unmeteredJitBefore = unmetered == null ? null : JdkTools.jit(unmetered.pid());

    int rounds = (int) Math.max(1, Math.ceil((double) duration.toMillis() / window.toMillis()));
    Duration each = duration.dividedBy(rounds);
    System.out.printf("%nmeasuring %d round(s) of %d %.1f s windows, %d concurrent clients%n", rounds, kinds.size(),
        each.toMillis() / 1000.0, concurrency);
    for (int r = 0; r < rounds; r++) {
      List<Kind> order = new ArrayList<>(kinds);
      if (r % 2 == 1) {
        // Alternate who goes first, so neither side always follows the other's heavier window.
        java.util.Collections.reverse(order);
      }
      for (Kind k : order) {
        Load.Window w = Load.run(k.label(), concurrency, worker -> client(k), each, meter).requireSuccess();
        k.result().add(w);
        System.out.printf("  [%d/%d] %-18s %8s/s  first p50 %7s ms  full p50 %7s ms  errors %d  atrium %.2f cores  machine %.0f%%%n",
            r + 1, rounds, k.label(), Report.fmt(w.perSecond()), Report.fmt(w.first().getValueAtPercentile(50) / 1000.0),
            Report.fmt(w.total().getValueAtPercentile(50) / 1000.0), w.errors(),
            w.cpuNanos().get("atrium") / (double) w.nanos(), w.machineBusy() * 100);
      }
    }
    JdkTools.Jit jitAfter = JdkTools.jit(atrium.pid());
    print(kinds, anthropicDirect, anthropicThrough, report);
    report.jit(jitBefore, jitAfter);
    if (unmetered != null) {
      report.jit(other, unmeteredJitBefore, JdkTools.jit(unmetered.pid()));
    }
  }

  private Load.Client client(Kind k) {
    if (k.target().anthropic()) {
      HttpRequest request = anthropicRequest(k.target());
      return inFlight -> http.anthropicSse(request, inFlight);
    }
    HttpRequest request = request(k.target(), k.stream(), k.maxTokens());
    return k.stream()
        ? inFlight -> http.sse(request, inFlight)
        : inFlight -> http.whole(request, 200, "\"content\"", inFlight, null);
  }

  /**
   * A streamed Anthropic Messages request: to the mock with the upstream key and
   * {@code anthropic-version}, as Anthropic's SDKs send it; to Atrium with its key as a Bearer
   * token. {@code max_tokens} (which the protocol requires) is above any answer of the run.
   */
  private HttpRequest anthropicRequest(Target t) {
    String body = "{\"model\":\"" + t.model() + "\",\"max_tokens\":" + Math.max(4096, chunks * 4)
        + ",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}";
    HttpRequest.Builder b = Http.post(t.url(), t.apiKey(), body.getBytes(StandardCharsets.UTF_8))
        .header("anthropic-version", "2023-06-01");
    return (t.apiKey() == null ? b.header("x-api-key", ANTHROPIC_KEY) : b).build();
  }

  private static HttpRequest request(Target t, boolean stream, int maxTokens) {
    String body = "{\"model\":\"" + t.model() + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]"
        + (maxTokens > 0 ? ",\"max_tokens\":" + maxTokens : "")
        + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : ",\"stream\":false") + "}";
    return Http.post(t.url(), t.apiKey(), body.getBytes(StandardCharsets.UTF_8)).build();
  }

  /** One request per case before any load, so a misconfiguration fails in a second with its reason. */
  private void smokeTest(List<Kind> kinds) {
    for (Kind k : kinds) {
      try {
        client(k).next(new AtomicReference<>());
      } catch (Exception e) {
        throw new IllegalStateException("smoke test " + k.label() + " failed: " + e.getMessage(), e);
      }
    }
  }

  private void print(List<Kind> kinds, Kind anthropicDirect, Kind anthropicThrough, Report report) {
    System.out.printf("%nresults: %d concurrent clients, mock upstream %d chunks %d ms apart (first token after %d ms)%n",
        concurrency, chunks, chunkDelayMs, firstTokenDelayMs);
    System.out.println("  first = time to the first content chunk (stream) or to the response headers (non-stream)");
    List<List<String>> rows = new ArrayList<>();
    for (Kind k : kinds) {
      Case c = k.result();
      rows.add(List.of(c.name, Report.fmt(c.perSecond()), Report.fmt(c.firstMs(50)), Report.fmt(c.firstMs(99)),
          Report.fmt(c.totalMs(50)), Report.fmt(c.totalMs(99)), Long.toString(c.errors()),
          Report.fmt(c.cpuMsPerRequest(k.target().name().equals(other) ? other : "atrium")),
          Report.fmt(c.cpuMsPerRequest("mock")),
          Report.fmt(c.cpuMsPerRequest("bench")), Report.fmt(c.machineBusy() * 100)));
    }
    Report.table(List.of("case", "req/s", "first p50", "first p99", "full p50", "full p99", "errors",
        "atrium cpu ms/req", "mock cpu", "bench cpu", "machine %"), rows);

    Case ds = kinds.get(0).result();
    Case as = kinds.get(1).result();
    Case dn = kinds.get(2).result();
    Case an = kinds.get(3).result();
    Map<String, Object> ratios = new LinkedHashMap<>();
    ratios.put("stream_throughput_ratio", Report.round(as.perSecond() / ds.perSecond()));
    ratios.put("non_stream_throughput_ratio", Report.round(an.perSecond() / dn.perSecond()));
    ratios.put("added_ttft_p50_ms", Report.round(as.firstMs(50) - ds.firstMs(50)));
    ratios.put("added_ttft_p99_ms", Report.round(as.firstMs(99) - ds.firstMs(99)));
    ratios.put("full_stream_p50_ratio", Report.round(as.totalMs(50) / ds.totalMs(50)));
    ratios.put("full_non_stream_p50_ratio", Report.round(an.totalMs(50) / dn.totalMs(50)));
    if (anthropicDirect != null) {
      Case ads = anthropicDirect.result();
      Case aas = anthropicThrough.result();
      ratios.put("anthropic_stream_throughput_ratio", Report.round(aas.perSecond() / ads.perSecond()));
      ratios.put("anthropic_added_ttft_p50_ms", Report.round(aas.firstMs(50) - ads.firstMs(50)));
      ratios.put("anthropic_added_ttft_p99_ms", Report.round(aas.firstMs(99) - ads.firstMs(99)));
      ratios.put("anthropic_full_stream_p50_ratio", Report.round(aas.totalMs(50) / ads.totalMs(50)));
    }
    System.out.printf("%nAtrium against direct:%n");
    ratios.forEach((name, v) -> System.out.printf("  %-28s %s%n", name, v == null ? "-" : Report.fmt((Double) v)));

    // The node idles through the direct windows: what it burns there (JIT, GC, projections'
    // polls, timers) is not any request's, and is taken out of the per-operation figures.
    double idleCores = (ds.cores("atrium") + dn.cores("atrium")) / 2;
    Map<String, Object> cpu = new LinkedHashMap<>();
    cpu.put("node_idle_cores", Report.round(idleCores));
    cpu.put("node_ms_per_non_streamed_request", Report.round(netMs(an, idleCores)));
    cpu.put("node_ms_per_stream_" + chunks + "_chunks", Report.round(netMs(as, idleCores)));
    double marginalUs = Double.NaN;
    if (compareChunks > 0) {
      Case shortStreams = kinds.get(4).result();
      cpu.put("node_ms_per_stream_" + compareChunks + "_chunks", Report.round(netMs(shortStreams, idleCores)));
      marginalUs = (netMs(as, idleCores) - netMs(shortStreams, idleCores)) * 1000 / (chunks - compareChunks);
      cpu.put("node_us_per_marginal_chunk", Report.round(marginalUs));
    }
    if (anthropicDirect != null) {
      // The direct Anthropic windows are idle ones for the node too, but the mean of the
      // OpenAI direct windows is the figure every other line is net of.
      cpu.put("node_ms_per_anthropic_stream_" + chunks + "_chunks",
          Report.round(netMs(anthropicThrough.result(), idleCores)));
      cpu.put("mock_ms_per_anthropic_stream", Report.round(anthropicDirect.result().cpuMsPerRequest("mock")));
    }
    cpu.put("mock_ms_per_stream", Report.round(ds.cpuMsPerRequest("mock")));
    cpu.put("mock_ms_per_non_streamed_request", Report.round(dn.cpuMsPerRequest("mock")));
    cpu.put("bench_ms_per_stream", Report.round(ds.cpuMsPerRequest("bench")));
    cpu.put("bench_ms_per_non_streamed_request", Report.round(dn.cpuMsPerRequest("bench")));
    System.out.printf("%nCPU per operation (node: net of its idle %.3f cores in the direct windows):%n", idleCores);
    cpu.forEach((name, v) -> System.out.printf("  %-36s %s%n", name, v == null ? "-" : Report.fmt((Double) v)));

    Map<String, Object> metering = other != null ? comparison(kinds) : null;

    System.out.printf("%ntargets (at %d concurrent clients):%n", concurrency);
    report.target("non-streaming throughput, Atrium/direct", an.perSecond() / dn.perSecond(), ">=", 0.5, "");
    report.target("added TTFT p50", as.firstMs(50) - ds.firstMs(50), "<=", 2, "ms");
    report.target("added TTFT p99", as.firstMs(99) - ds.firstMs(99), "<=", 15, "ms");
    report.target("full-stream p50, Atrium/direct", as.totalMs(50) / ds.totalMs(50), "<=", 1.05, "");
    report.target("node CPU per non-streamed request", netMs(an, idleCores), "<=", 0.25, "ms");
    if (compareChunks > 0) {
      report.target("node CPU per marginal streamed chunk", marginalUs, "<=", 50, "us");
    }
    if (anthropicDirect != null) {
      Case ads = anthropicDirect.result();
      Case aas = anthropicThrough.result();
      report.target("Anthropic door: added TTFT p50", aas.firstMs(50) - ads.firstMs(50), "<=", 2, "ms");
      report.target("Anthropic door: full-stream p50, Atrium/direct", aas.totalMs(50) / ads.totalMs(50), "<=", 1.05, "");
    }
    if (metering != null) {
      report.target("node CPU added by " + (compareMetering ? "metering" : "budgets") + " per non-streamed request",
          (Double) metering.get("added_node_ms_per_non_streamed_request"), "<=", 0.05, "ms");
    }
    report.target("errors through Atrium", kinds.stream().filter(k -> !k.target().name().equals("direct"))
        .mapToLong(k -> k.result().errors()).sum(), "<=", 0, "");

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("concurrency", concurrency);
    config.put("duration_s_per_case", duration.toMillis() / 1000.0);
    config.put("warmup_s", warmup.toMillis() / 1000.0);
    config.put("window_s", window.toMillis() / 1000.0);
    config.put("chunks", chunks);
    config.put("chunk_delay_ms", chunkDelayMs);
    config.put("first_token_delay_ms", firstTokenDelayMs);
    config.put("chunks_compare", compareChunks);
    config.put("node_root", nodeRoot == null ? null : nodeRoot.toString());
    config.put("compare_metering", compareMetering);
    config.put("compare_budgets", compareBudgets);
    config.put("anthropic", anthropic);
    report.put("config", config)
        .put("cpu_per_operation", cpu)
        .put("cases", kinds.stream().map(k -> k.result().toJson()).toList())
        .put("ratios", ratios);
    if (metering != null) {
      report.put(compareMetering ? "metering" : "budgets", metering);
    }
  }

  /**
   * The same build with metering (or budgets) on ({@code atrium}) and off (the second node),
   * in the same windows: each node's CPU per call net of what it burns idle in the direct
   * windows, and its PostgreSQL's CPU per call.
   */
  private Map<String, Object> comparison(List<Kind> kinds) {
    Case ds = kinds.get(0).result();
    Case dn = kinds.get(2).result();
    Case onStream = kinds.get(1).result();
    Case onWhole = kinds.get(3).result();
    Case offStream = kinds.get(kinds.size() - 2).result();
    Case offWhole = kinds.get(kinds.size() - 1).result();
    double idleOn = (ds.cores("atrium") + dn.cores("atrium")) / 2;
    double idleOff = (ds.cores(other) + dn.cores(other)) / 2;
    String on = compareMetering ? "metered" : "budgeted";
    String off = compareMetering ? "unmetered" : "unbudgeted";
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("node_ms_per_non_streamed_request_" + off, Report.round(netMs(offWhole, idleOff, other)));
    m.put("node_ms_per_non_streamed_request_" + on, Report.round(netMs(onWhole, idleOn, "atrium")));
    m.put("added_node_ms_per_non_streamed_request",
        Report.round(netMs(onWhole, idleOn, "atrium") - netMs(offWhole, idleOff, other)));
    m.put("node_ms_per_stream_" + off, Report.round(netMs(offStream, idleOff, other)));
    m.put("node_ms_per_stream_" + on, Report.round(netMs(onStream, idleOn, "atrium")));
    m.put("added_node_ms_per_stream", Report.round(netMs(onStream, idleOn, "atrium") - netMs(offStream, idleOff, other)));
    m.put("postgres_ms_per_non_streamed_request_" + off, Report.round(offWhole.cpuMsPerRequest("postgres-" + other)));
    m.put("postgres_ms_per_non_streamed_request_" + on, Report.round(onWhole.cpuMsPerRequest("postgres")));
    m.put("postgres_ms_per_stream_" + off, Report.round(offStream.cpuMsPerRequest("postgres-" + other)));
    m.put("postgres_ms_per_stream_" + on, Report.round(onStream.cpuMsPerRequest("postgres")));
    m.put("non_streamed_requests_per_s_" + off, Report.round(offWhole.perSecond()));
    m.put("non_streamed_requests_per_s_" + on, Report.round(onWhole.perSecond()));
    m.put(off + "_node_idle_cores", Report.round(idleOff));
    System.out.printf("%n%s, the same build on two nodes (on: atrium, off: %s), CPU per call net of idle:%n",
        compareMetering ? "metering" : "budgets", other);
    m.forEach((name, v) -> System.out.printf("  %-48s %s%n", name, v == null ? "-" : Report.fmt((Double) v)));
    return m;
  }

  /** The node's CPU per completed request of a case, in ms, without what it spends idle. */
  private static double netMs(Case c, double idleCores) {
    return netMs(c, idleCores, "atrium");
  }

  private static double netMs(Case c, double idleCores, String node) {
    return (c.cores(node) - idleCores) / c.perSecond() * 1000;
  }

  /**
   * A tenants folder holding one tenant whose model {@code mock} is the mock upstream, and
   * with {@code --anthropic yes} {@code mock-anthropic}, the same mock in Anthropic's protocol.
   */
  private Path writeTenant(URI mockV1) {
    Map<String, Object> tenant = BenchTenants.mockTenant("bench", KEY, mockV1);
    if (anthropic) {
      @SuppressWarnings("unchecked")
      Map<String, Object> models = new LinkedHashMap<>((Map<String, Object>) tenant.get("models"));
      @SuppressWarnings("unchecked")
      Map<String, Object> routes = new LinkedHashMap<>((Map<String, Object>) models.get("models"));
      @SuppressWarnings("unchecked")
      Map<String, Object> providers = new LinkedHashMap<>((Map<String, Object>) models.get("providers"));
      routes.put("mock-anthropic", Map.of("provider", "mock-anthropic", "upstream_model", "mock-model"));
      providers.put("mock-anthropic", Map.of("type", "anthropic", "base_url", mockV1.resolve("/").toString(),
          "api_key_env", ANTHROPIC_KEY_ENV, "timeout_ms", 60_000, "max_retries", 0));
      models.put("models", routes);
      models.put("providers", providers);
      tenant.put("models", models);
    }
    if (compareBudgets) {
      // Caps no run reaches: every call holds and settles, in the tenant's scope and its key's.
      Map<String, Object> caps = Map.of("daily_tokens", 1_000_000_000_000L, "monthly_tokens", 1_000_000_000_000L);
      tenant.put("budgets", Map.of("tenant", caps, "per_key", caps));
    }
    return BenchTenants.write(runDir, "bench", tenant);
  }
}
