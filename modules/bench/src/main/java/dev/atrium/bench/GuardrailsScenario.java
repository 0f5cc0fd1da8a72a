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
 * {@code ./atrium bench guardrails}: streamed calls through {@code POST /v1/chat/completions}
 * of two tenants on one node, in alternating windows of one run: one with guardrails on (a
 * 50-term blocklist on input and output and the pattern redactor on input and output), one
 * without; and a window that calls the mock directly, so what the node burns while it
 * serves neither is no tenant's. Node CPU per streamed chunk of each (net of that idle),
 * their ratio, the time to the first token each adds, and PostgreSQL CPU per call (the
 * usage rows).
 */
final class GuardrailsScenario {
  static final Set<String> OPTIONS = Set.of("concurrency", "duration", "warmup", "window", "chunks", "terms");
  private static final String ON = "bench-guarded";
  private static final String OFF = "bench-unguarded";
  /** A prompt with something to redact on its way in: the guarded tenant's redactor finds it every call. */
  private static final String PROMPT = "Summarise this for me and reply to bench.user@example.com, thanks.";

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int concurrency;
  private final Duration duration;
  private final Duration warmup;
  private final Duration window;
  private final int chunks;
  private final int terms;

  GuardrailsScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.concurrency = o.integer("concurrency", 16, 1, 4096);
    this.duration = o.duration("duration", Duration.ofSeconds(40));
    this.warmup = o.duration("warmup", Duration.ofSeconds(20));
    this.window = o.duration("window", Duration.ofSeconds(5));
    this.chunks = o.integer("chunks", 50, 1, 10_000);
    this.terms = o.integer("terms", 50, 1, 10_000);
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
    Fleet.Launched mock = fleet.mockLlm(chunks, 0, 0);
    Path tenants = writeTenants(mock.baseUri().resolve("/v1"));
    Fleet.Launched node = fleet.atrium(tenants);
    Meter meter = new Meter().watch("atrium", () -> Cpu.processNanos(node.pid()));
    node.postgresPid().ifPresent(pg -> meter.watch("postgres", () -> Cpu.treeNanos(pg)));

    String direct = "{\"model\":\"mock-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    HttpRequest directRequest = Http.post(mock.baseUri().resolve("/v1/chat/completions"), null,
        direct.getBytes(StandardCharsets.UTF_8)).build();
    HttpRequest onRequest = call(node.baseUri(), ON);
    HttpRequest offRequest = call(node.baseUri(), OFF);
    Load.Client onClient = inFlight -> http.sse(onRequest, inFlight);
    Load.Client offClient = inFlight -> http.sse(offRequest, inFlight);
    Load.Client directClient = inFlight -> http.sse(directRequest, inFlight);
    onClient.next(new AtomicReference<>());
    offClient.next(new AtomicReference<>());

    int slices = Math.max(2, (int) (warmup.toSeconds() / 5) / 2 * 2);
    System.out.printf("%nwarming up the node for %d s (both tenants)%n", warmup.toSeconds());
    for (int i = 0; i < slices; i++) {
      Load.Client c = i % 2 == 0 ? onClient : offClient;
      Load.run("warmup", concurrency, w -> c, warmup.dividedBy(slices), meter).requireSuccess();
    }
    Case guarded = new Case("guardrails on");
    Case unguarded = new Case("guardrails off");
    Case idle = new Case("direct to the mock");
    int rounds = (int) Math.max(1, Math.ceil((double) duration.toMillis() / window.toMillis()));
    Duration each = duration.dividedBy(rounds);
    System.out.printf("%nmeasuring %d round(s) of %.1f s windows, %d concurrent streams of %d chunks%n", rounds,
        each.toMillis() / 1000.0, concurrency, chunks);
    for (int r = 0; r < rounds; r++) {
      boolean onFirst = r % 2 == 0;
      for (int k = 0; k < 3; k++) {
        int which = onFirst ? k : 2 - k;
        Case c = which == 0 ? guarded : which == 1 ? idle : unguarded;
        Load.Client client = which == 0 ? onClient : which == 1 ? directClient : offClient;
        Load.Window w = Load.run(c.name, concurrency, worker -> client, each, meter).requireSuccess();
        c.add(w);
        System.out.printf("  [%d/%d] %-18s %8s/s  ttft p50 %6s ms  total p50 %6s ms  errors %d%n", r + 1, rounds,
            c.name, Report.fmt(w.perSecond()), Report.fmt(w.first().getValueAtPercentile(50) / 1000.0),
            Report.fmt(w.total().getValueAtPercentile(50) / 1000.0), w.errors());
      }
    }
    double idleCores = idle.cores("atrium");
    double onUsPerChunk = (guarded.cores("atrium") - idleCores) / guarded.perSecond() / chunks * 1e6;
    double offUsPerChunk = (unguarded.cores("atrium") - idleCores) / unguarded.perSecond() / chunks * 1e6;
    double ratio = onUsPerChunk / offUsPerChunk;
    Map<String, Object> cost = new LinkedHashMap<>();
    cost.put("node_us_per_chunk_guardrails_on", Report.round(onUsPerChunk));
    cost.put("node_us_per_chunk_guardrails_off", Report.round(offUsPerChunk));
    cost.put("node_cpu_per_chunk_ratio", Report.round(ratio));
    cost.put("streams_per_s_on", Report.round(guarded.perSecond()));
    cost.put("streams_per_s_off", Report.round(unguarded.perSecond()));
    cost.put("ttft_p50_ms_on", Report.round(guarded.firstMs(50)));
    cost.put("ttft_p50_ms_off", Report.round(unguarded.firstMs(50)));
    cost.put("ttft_p50_added_ms", Report.round(guarded.firstMs(50) - unguarded.firstMs(50)));
    cost.put("total_p50_ms_on", Report.round(guarded.totalMs(50)));
    cost.put("total_p50_ms_off", Report.round(unguarded.totalMs(50)));
    cost.put("postgres_ms_per_call_on", Report.round(guarded.cpuMsPerRequest("postgres")));
    cost.put("postgres_ms_per_call_off", Report.round(unguarded.cpuMsPerRequest("postgres")));
    cost.put("node_idle_cores", Report.round(idleCores));
    cost.put("machine_busy_on", Report.round(guarded.machineBusy()));
    cost.put("machine_busy_off", Report.round(unguarded.machineBusy()));
    System.out.printf("%nguardrails on and off, one node, interleaved (node CPU net of its idle):%n");
    cost.forEach((name, v) -> System.out.printf("  %-36s %s%n", name, v == null ? "-" : Report.fmt((Double) v)));

    System.out.printf("%ntargets:%n");
    report.target("node CPU per chunk, guardrails on / off", ratio, "<=", 1.10, "");
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("concurrency", concurrency);
    config.put("duration_s_per_case", duration.toMillis() / 1000.0);
    config.put("warmup_s", warmup.toMillis() / 1000.0);
    config.put("window_s", window.toMillis() / 1000.0);
    config.put("chunks", chunks);
    config.put("blocklist_terms", terms);
    config.put("pii", "pattern redactor, all kinds, input and output");
    report.put("config", config).put("cost", cost)
        .put("cases", List.of(guarded.toJson(), unguarded.toJson(), idle.toJson()));
  }

  private static HttpRequest call(URI base, String tenant) {
    String body = "{\"model\":\"mock\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}";
    return Http.post(base.resolve("/v1/chat/completions"), tenant + "-key", body.getBytes(StandardCharsets.UTF_8))
        .build();
  }

  /** Two tenants on the same mock: one with the guardrails, one without. */
  private Path writeTenants(URI mockV1) {
    List<String> blocked = new ArrayList<>();
    for (int i = 0; i < terms; i++) {
      blocked.add("forbidden phrase " + i);
    }
    Path dir = null;
    for (String id : List.of(ON, OFF)) {
      Map<String, Object> tenant = BenchTenants.mockTenant(id, id + "-key", mockV1);
      tenant.put("stream_slots", BenchTenants.unlimitedStreamSlots());
      if (id.equals(ON)) {
        tenant.put("guardrails", Map.of(
            "blocklists", List.of(Map.of("code", "bench", "terms", blocked)),
            "pii", Map.of("redactor", "pattern", "input", true, "output", true)));
      }
      dir = BenchTenants.write(runDir, id, tenant);
    }
    return dir;
  }
}
