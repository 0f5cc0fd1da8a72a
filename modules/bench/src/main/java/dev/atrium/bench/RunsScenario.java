package dev.atrium.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * {@code ./atrium bench runs}: N small {@code batch} runs against the mock upstream,
 * submitted by C concurrent clients. Measures {@code POST /v1/runs} → 202 latency, and runs
 * completed per second from the first submit to the last run's {@code ended_at}.
 */
final class RunsScenario {
  static final Set<String> OPTIONS = Set.of("runs", "concurrency", "warmup-runs", "prompts", "chunks", "chunk-delay-ms",
      "timeout", "max-running");
  private static final String KEY = "bench-key";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Between two GETs of a run that has not ended yet: often enough to see the end, rarely enough to cost little. */
  private static final long POLL_PAUSE_MS = 100;

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int runs;
  private final int concurrency;
  private final int warmupRuns;
  private final int[] prompts;
  private final int chunks;
  private final int chunkDelayMs;
  /** The tenant's runs.max_running: runs beyond it wait queued for a slot. */
  private final int maxRunning;
  private final Duration timeout;
  private URI base;

  /** One phase's outcome: submit latencies, and each run's end as the server recorded it. */
  private record Phase(Histogram submit, Instant firstSubmit, Instant lastSubmit, Map<String, JsonNode> ended,
      int submitFailures, List<String> errorSamples) {}

  RunsScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.runs = o.integer("runs", 1000, 1, 1_000_000);
    this.concurrency = o.integer("concurrency", 32, 1, 4096);
    this.warmupRuns = o.integer("warmup-runs", 100, 0, 1_000_000);
    this.prompts = o.range("prompts", new int[] {2, 3}, 1, 1000);
    this.chunks = o.integer("chunks", 4, 1, 100_000);
    this.chunkDelayMs = o.integer("chunk-delay-ms", 1, 0, 60_000);
    this.maxRunning = o.integer("max-running", 64, 1, 100_000);
    this.timeout = o.duration("timeout", Duration.ofMinutes(10));
  }

  void run(Report report) {
    Fleet.Launched mock = fleet.mockLlm(chunks, chunkDelayMs, 0);
    Fleet.Launched atrium = fleet.atrium(writeTenant(mock.baseUri().resolve("/v1")));
    base = atrium.baseUri();
    long postgresPid = atrium.postgresPid().orElseThrow(() ->
        new IllegalStateException("no embedded PostgreSQL found (is ATRIUM_DATABASE_URL set?)"));
    Meter meter = new Meter()
        .watch("atrium", () -> Cpu.processNanos(atrium.pid()))
        .watch("mock", () -> Cpu.processNanos(mock.pid()))
        .watch("postgres", () -> Cpu.treeNanos(postgresPid));

    Phase smoke = phase(1, 1);
    if (smoke.ended().size() != 1 || !smoke.ended().values().iterator().next().path("status").asText().equals("succeeded")) {
      throw new IllegalStateException("smoke test (one batch run) did not succeed: " + smoke.errorSamples() + " "
          + smoke.ended().values());
    }
    if (warmupRuns > 0) {
      System.out.printf("%nwarming up: %d runs%n", warmupRuns);
      Phase w = phase(warmupRuns, concurrency);
      System.out.printf("  warm-up: %s runs/s, submit p50 %s ms%n", Report.fmt(runsPerSecond(w)),
          Report.fmt(Case.ms(w.submit(), 50)));
    }

    JdkTools.Jit jitBefore = JdkTools.jit(atrium.pid());
    System.out.printf("%nmeasuring: %d batch runs of %d-%d prompts, %d concurrent submitters%n", runs, prompts[0],
        prompts[1], concurrency);
    Meter.Reading before = meter.read();
    long started = System.nanoTime();
    Phase p = phase(runs, concurrency);
    long nanos = System.nanoTime() - started;
    Meter.Reading after = meter.read();
    JdkTools.Jit jitAfter = JdkTools.jit(atrium.pid());
    print(p, before.cpuUntil(after), nanos, before.machine().busyUntil(after.machine()), report);
    report.jit(jitBefore, jitAfter);
  }

  /**
   * Submits {@code count} runs from {@code submitters} threads while one poller follows them in
   * submission order (a GET of a run that has ended costs one entity ask, and a run still going
   * is asked again after a pause), until every run has ended or the timeout passes.
   */
  private Phase phase(int count, int submitters) {
    Histogram submit = new Histogram(Load.MAX_MICROS, 3);
    AtomicInteger next = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    LinkedBlockingQueue<String> submitted = new LinkedBlockingQueue<>();
    AtomicReference<Instant> first = new AtomicReference<>();
    AtomicReference<Instant> last = new AtomicReference<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < submitters; t++) {
      threads.add(daemon("submit-" + t, () -> {
        AtomicReference<Closeable> inFlight = new AtomicReference<>();
        int i;
        while ((i = next.getAndIncrement()) < count && System.nanoTime() < deadline) {
          byte[] body = body(i);
          first.compareAndSet(null, Instant.now());
          try {
            Http.Answer a = http.exchange(Http.post(base.resolve("/v1/runs"), KEY, body).build(), inFlight);
            if (a.status() != 202) {
              throw new Http.BadAnswer("HTTP " + a.status() + ": " + Http.abbreviate(a.body()));
            }
            synchronized (submit) {
              submit.recordValue(Math.min(Load.MAX_MICROS, a.timing().totalNanos() / 1000));
            }
            submitted.add(JSON.readTree(a.body()).path("run_id").asText());
          } catch (InterruptedException e) {
            return;
          } catch (Exception e) {
            failures.incrementAndGet();
            if (errors.size() < 3) {
              errors.add("submit: " + e.getMessage());
            }
          }
          last.set(Instant.now());
        }
      }));
    }
    Map<String, JsonNode> ended = new ConcurrentHashMap<>();
    Thread poller = daemon("poll", () -> {
      AtomicReference<Closeable> inFlight = new AtomicReference<>();
      int seen = 0;
      while (System.nanoTime() < deadline) {
        String id;
        try {
          id = submitted.poll(200, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          return;
        }
        if (id == null) {
          if (seen + failures.get() >= count && threads.stream().noneMatch(Thread::isAlive)) {
            return;
          }
          continue;
        }
        seen++;
        while (System.nanoTime() < deadline) {
          try {
            Http.Answer a = http.exchange(Http.get(base.resolve("/v1/runs/" + id), KEY).build(), inFlight);
            JsonNode run = JSON.readTree(a.body());
            String status = run.path("status").asText();
            if (status.equals("succeeded") || status.equals("failed") || status.equals("cancelled")) {
              ended.put(id, run);
              break;
            }
            if (a.status() != 200 && errors.size() < 3) {
              errors.add("poll: HTTP " + a.status() + ": " + Http.abbreviate(a.body()));
            }
            Thread.sleep(POLL_PAUSE_MS);
          } catch (InterruptedException e) {
            return;
          } catch (Exception e) {
            if (errors.size() < 3) {
              errors.add("poll: " + e.getMessage());
            }
            sleep(POLL_PAUSE_MS);
          }
        }
      }
    });
    threads.forEach(t -> join(t, deadline));
    join(poller, deadline);
    if (ended.size() < count - failures.get()) {
      System.out.printf("  %d of %d runs had not ended within --timeout %d s%n", count - failures.get() - ended.size(),
          count, timeout.toSeconds());
    }
    return new Phase(submit, first.get(), last.get(), ended, failures.get(), List.copyOf(errors));
  }

  /** Runs per second from the first submit to the latest {@code ended_at} (both this machine's clock). */
  private static double runsPerSecond(Phase p) {
    Instant lastEnd = lastEnd(p);
    if (p.firstSubmit() == null || lastEnd == null) {
      return Double.NaN;
    }
    return p.ended().size() / (Duration.between(p.firstSubmit(), lastEnd).toNanos() / 1e9);
  }

  private static Instant lastEnd(Phase p) {
    return p.ended().values().stream().map(r -> r.path("ended_at").asText(null)).filter(s -> s != null)
        .map(Instant::parse).max(Instant::compareTo).orElse(null);
  }

  /** The failed prompts' errors (from each ended run's result items), counted per message. */
  private static Map<String, Long> promptErrors(Phase p) {
    Map<String, Long> counts = new java.util.TreeMap<>();
    p.ended().values().forEach(run -> run.path("result").path("items").forEach(item -> {
      if (item.hasNonNull("error")) {
        counts.merge(item.get("error").asText(), 1L, Long::sum);
      }
    }));
    return counts;
  }

  private byte[] body(int i) {
    int n = prompts[0] + (prompts[1] > prompts[0] ? i % (prompts[1] - prompts[0] + 1) : 0);
    StringBuilder list = new StringBuilder();
    for (int k = 0; k < n; k++) {
      list.append(k == 0 ? "" : ",").append("\"Run ").append(i).append(", prompt ").append(k)
          .append(": summarise a load test in one line.\"");
    }
    return ("{\"type\":\"batch\",\"input\":{\"prompts\":[" + list + "]}}").getBytes(StandardCharsets.UTF_8);
  }

  private void print(Phase p, Map<String, Long> cpu, long nanos, double busy, Report report) {
    long succeeded = p.ended().values().stream().filter(r -> r.path("status").asText().equals("succeeded")).count();
    long promptsFailed = p.ended().values().stream().mapToLong(r -> r.path("result").path("failed").asLong()).sum();
    long promptsAnswered = p.ended().values().stream().mapToLong(r -> r.path("result").path("succeeded").asLong()).sum();
    double perSecond = runsPerSecond(p);
    Instant lastEnd = lastEnd(p);
    double submitSeconds = p.firstSubmit() == null || p.lastSubmit() == null ? Double.NaN
        : Duration.between(p.firstSubmit(), p.lastSubmit()).toNanos() / 1e9;
    double endSeconds = lastEnd == null ? Double.NaN : Duration.between(p.firstSubmit(), lastEnd).toNanos() / 1e9;

    System.out.printf("%nresults: %d batch runs (%d-%d prompts each), %d concurrent submitters, at most %d running,"
        + " mock %d chunks %d ms apart%n", runs, prompts[0], prompts[1], concurrency, maxRunning, chunks, chunkDelayMs);
    Report.table(List.of("runs", "succeeded", "other end", "not ended", "submit errors", "prompts ok", "prompts failed"),
        List.of(List.of(Integer.toString(runs), Long.toString(succeeded), Long.toString(p.ended().size() - succeeded),
            Long.toString(runs - p.submitFailures() - p.ended().size()), Integer.toString(p.submitFailures()),
            Long.toString(promptsAnswered), Long.toString(promptsFailed))));
    System.out.println();
    Report.table(List.of("measure", "value"), List.of(
        List.of("submit (POST /v1/runs -> 202) p50 ms", Report.fmt(Case.ms(p.submit(), 50))),
        List.of("submit p99 ms", Report.fmt(Case.ms(p.submit(), 99))),
        List.of("submit max ms", Report.fmt(p.submit().getMaxValue() / 1000.0)),
        List.of("all submitted after s", Report.fmt(submitSeconds)),
        List.of("last run ended after s", Report.fmt(endSeconds)),
        List.of("runs completed per second", Report.fmt(perSecond)),
        List.of("atrium cpu ms per run", Report.fmt(cpu.get("atrium") / 1e6 / Math.max(1, p.ended().size()))),
        List.of("postgres cpu ms per run", Report.fmt(cpu.get("postgres") / 1e6 / Math.max(1, p.ended().size()))),
        List.of("mock cpu ms per run", Report.fmt(cpu.get("mock") / 1e6 / Math.max(1, p.ended().size()))),
        List.of("bench cpu ms per run", Report.fmt(cpu.get("bench") / 1e6 / Math.max(1, p.ended().size()))),
        List.of("machine busy %", Report.fmt(busy * 100))));
    if (!p.errorSamples().isEmpty()) {
      System.out.println("  errors, e.g.: " + p.errorSamples());
    }
    Map<String, Long> promptErrors = promptErrors(p);
    if (!promptErrors.isEmpty()) {
      System.out.println("  failed prompts by error: " + promptErrors);
    }
    System.out.printf("%n(no targets: the issue sets none for runs)%n");

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("runs", runs);
    config.put("concurrency", concurrency);
    config.put("max_running", maxRunning);
    config.put("warmup_runs", warmupRuns);
    config.put("prompts", prompts[0] + "-" + prompts[1]);
    config.put("mock_chunks", chunks);
    config.put("mock_chunk_delay_ms", chunkDelayMs);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("succeeded", succeeded);
    result.put("ended_otherwise", p.ended().size() - succeeded);
    result.put("not_ended", runs - p.submitFailures() - p.ended().size());
    result.put("submit_failures", p.submitFailures());
    result.put("prompts_answered", promptsAnswered);
    result.put("prompts_failed", promptsFailed);
    result.put("error_samples", p.errorSamples());
    result.put("prompt_errors", promptErrors);
    result.put("submit_ms", Case.percentiles(p.submit()));
    result.put("submit_seconds", Report.round(submitSeconds));
    result.put("first_submit_to_last_end_s", Report.round(endSeconds));
    result.put("runs_per_second", Report.round(perSecond));
    Map<String, Object> cpuJson = new LinkedHashMap<>();
    cpu.forEach((process, n) -> cpuJson.put(process, Map.of(
        "ms_per_run", Report.round(n / 1e6 / Math.max(1, p.ended().size())), "cores", Report.round((double) n / nanos))));
    result.put("cpu", cpuJson);
    result.put("machine_busy", Report.round(busy));
    report.put("config", config).put("result", result);
  }

  /** The mock as the tenant's model, and nothing that throttles: runs' rate class and their concurrency raised. */
  private Path writeTenant(URI mockV1) {
    Map<String, Object> tenant = BenchTenants.tenant("bench", List.of(BenchTenants.apiKey("k_bench", KEY)),
        BenchTenants.unlimitedRateLimits());
    tenant.put("models", Map.of(
        "default_model", "mock",
        "models", Map.of("mock", Map.of("provider", "mock", "upstream_model", "mock-model")),
        "providers", Map.of("mock", Map.of("type", "openai", "base_url", mockV1.toString(),
            "timeout_ms", 60_000, "max_retries", 0))));
    tenant.put("runs", Map.of("max_concurrency", 256, "max_running", maxRunning));
    return BenchTenants.write(runDir, "bench", tenant);
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, "runs-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void join(Thread t, long deadlineNanos) {
    try {
      t.join(Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000 + 1_000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    t.interrupt();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
