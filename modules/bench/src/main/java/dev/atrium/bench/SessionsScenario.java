package dev.atrium.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code ./atrium bench sessions}: persisted turns per second through the native session
 * API with the {@code local} model (no upstream: the cost is Atrium's and PostgreSQL's), on
 * a fresh node (windows right after start, a new database) and again after warm-up, then
 * the heap that active sessions hold. The node reads the checkout's demo tenant with
 * its rate limits raised above the load.
 */
final class SessionsScenario {
  static final Set<String> OPTIONS = Set.of("concurrency", "duration", "warmup", "turns-per-session", "heap-sessions",
      "heap-turns", "node-root");
  private static final String KEY = "demo-key";
  private static final Duration WINDOW = Duration.ofSeconds(10);
  private static final Duration HEAP_PHASE_LIMIT = Duration.ofMinutes(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] CREATE = "{\"title\":\"bench\"}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] TURN = "{\"content\":\"Summarise in one sentence what a load test measures.\",\"stream\":false}"
      .getBytes(StandardCharsets.UTF_8);

  private final Http http;
  private final Fleet fleet;
  private final Path root;
  private final Path runDir;
  private final int concurrency;
  private final Duration duration;
  private final Duration warmup;
  private final int turnsPerSession;
  private final int heapSessions;
  private final int heapTurns;
  /** Another checkout whose node is measured (a baseline), or null for this one's. */
  private final Path nodeRoot;
  private URI sessions;

  SessionsScenario(BenchOptions o, Http http, Fleet fleet, Path root, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.root = root;
    this.runDir = runDir;
    this.concurrency = o.integer("concurrency", 32, 1, 4096);
    this.duration = o.duration("duration", Duration.ofSeconds(30));
    this.warmup = o.duration("warmup", Duration.ofSeconds(20));
    this.turnsPerSession = o.integer("turns-per-session", 20, 0, 1_000_000);
    this.heapSessions = o.integer("heap-sessions", 2000, 0, 1_000_000);
    this.heapTurns = o.integer("heap-turns", 3, 0, 1000);
    String other = o.text("node-root", null);
    this.nodeRoot = other == null ? null : Path.of(other).toAbsolutePath().normalize();
  }

  void run(Report report) {
    Path tenants = BenchTenants.copyUnlimited(root.resolve("tenants"), "demo", runDir);
    Fleet.Launched atrium = nodeRoot == null ? fleet.atrium(tenants) : fleet.atrium(tenants, nodeRoot);
    sessions = atrium.baseUri().resolve("/v1/chat/sessions");
    long postgresPid = atrium.postgresPid().orElseThrow(() ->
        new IllegalStateException("no embedded PostgreSQL found (is ATRIUM_DATABASE_URL set?)"));
    String syncCommit = synchronousCommit(postgresPid);
    System.out.println("PostgreSQL (embedded, pid " + postgresPid + "): synchronous_commit=" + syncCommit
        + " (read from the postmaster's command line; ./atrium serve turns it on)");
    Meter meter = new Meter()
        .watch("atrium", () -> Cpu.processNanos(atrium.pid()))
        .watch("postgres", () -> Cpu.treeNanos(postgresPid));
    for (String kind : PostgresProcesses.KINDS) {
      meter.watch("postgres:" + kind, () -> PostgresProcesses.nanos(postgresPid, kind));
    }
    try (Phases phases = new Phases(StatementStats.open(atrium.postgresPort()), meter)) {
      try {
        new TurnLoop().next(new AtomicReference<>());
      } catch (Exception e) {
        throw new IllegalStateException("smoke test (create a session, send a turn) failed: " + e.getMessage(), e);
      }
      int rounds = (int) Math.max(1, Math.ceil((double) duration.toMillis() / WINDOW.toMillis()));
      System.out.printf("%nfresh node: %d window(s) right after start, %d concurrent clients, a new session every %s turns%n",
          rounds, concurrency, turnsPerSession == 0 ? "(never)" : Integer.toString(turnsPerSession));
      Case fresh = phases.measure("fresh", rounds, duration.dividedBy(rounds));
      if (!warmup.isZero()) {
        System.out.printf("%nwarming up for %d s more%n", warmup.toSeconds());
        Load.Window w = Load.run("warmup", concurrency, i -> new TurnLoop(), warmup, meter).requireSuccess();
        System.out.printf("  warm-up %8s turns/s  errors %d%s%n", Report.fmt(w.perSecond()), w.errors(),
            w.errorSamples().isEmpty() ? "" : " (" + w.errorSamples().get(0) + ")");
      }
      JdkTools.Jit jitBefore = JdkTools.jit(atrium.pid());
      System.out.printf("%nwarm node: %d window(s) after %d s of load%n", rounds,
          (duration.toMillis() + warmup.toMillis()) / 1000);
      Case warm = phases.measure("warm", rounds, duration.dividedBy(rounds));
      JdkTools.Jit jitAfter = JdkTools.jit(atrium.pid());
      Map<String, Object> heap = heapPerSession(atrium.pid());
      print(fresh, warm, heap, syncCommit, report);
      phases.print(report);
      report.jit(jitBefore, jitAfter);
    }
  }

  /** The measured phases (fresh, warm): their windows, and what PostgreSQL spent in each. */
  private final class Phases implements AutoCloseable {
    private final Optional<StatementStats> statements;
    private final Meter meter;
    private final Map<String, List<StatementStats.Group>> groups = new LinkedHashMap<>();
    private final Map<String, Long> turns = new LinkedHashMap<>();

    Phases(Optional<StatementStats> statements, Meter meter) {
      this.statements = statements;
      this.meter = meter;
    }

    Case measure(String name, int rounds, Duration window) {
      Case phase = new Case(name);
      statements.ifPresent(StatementStats::reset);
      for (int r = 0; r < rounds; r++) {
        Load.Window w = Load.run(name, concurrency, i -> new TurnLoop(), window, meter).requireSuccess();
        phase.add(w);
        double atriumMs = w.cpuNanos().get("atrium") / 1e6 / Math.max(1, w.completed());
        double postgresMs = w.cpuNanos().get("postgres") / 1e6 / Math.max(1, w.completed());
        System.out.printf("  [%d/%d] %8s turns/s  p50 %6s ms  p99 %6s ms  errors %d  cpu per turn: atrium %s ms, "
                + "postgres %s ms (%.2f + %.2f cores)  machine %.0f%%%n",
            r + 1, rounds, Report.fmt(w.perSecond()), Report.fmt(w.total().getValueAtPercentile(50) / 1000.0),
            Report.fmt(w.total().getValueAtPercentile(99) / 1000.0), w.errors(), Report.fmt(atriumMs),
            Report.fmt(postgresMs), w.cpuNanos().get("atrium") / (double) w.nanos(),
            w.cpuNanos().get("postgres") / (double) w.nanos(), w.machineBusy() * 100);
      }
      statements.ifPresent(s -> {
        groups.put(name, s.read());
        turns.put(name, phase.completed());
      });
      return phase;
    }

    void print(Report report) {
      if (groups.isEmpty()) {
        return;
      }
      Map<String, Object> json = new LinkedHashMap<>();
      groups.forEach((phase, g) -> {
        System.out.printf("%nPostgreSQL statements, %s phase (pg_stat_statements; time inside PostgreSQL per persisted turn)%n",
            phase);
        Report.table(StatementStats.HEADER, StatementStats.rows(g, turns.get(phase)));
        json.put(phase, StatementStats.toJson(g, turns.get(phase)));
      });
      report.put("postgres_statements", json);
    }

    @Override
    public void close() {
      statements.ifPresent(StatementStats::close);
    }
  }

  /** One worker: a session of its own, a turn per request, a new session every turnsPerSession turns. */
  private final class TurnLoop implements Load.Client {
    private String sessionId;
    private int turns;

    @Override
    public Load.Timing next(AtomicReference<Closeable> inFlight) throws IOException, InterruptedException {
      if (sessionId == null || (turnsPerSession > 0 && turns >= turnsPerSession)) {
        sessionId = create(inFlight);
        turns = 0;
      }
      turns++;
      return turn(sessionId, inFlight);
    }
  }

  private String create(AtomicReference<Closeable> inFlight) throws IOException, InterruptedException {
    StringBuilder body = new StringBuilder();
    http.whole(Http.post(sessions, KEY, CREATE).build(), 201, "\"id\"", inFlight, body);
    return JSON.readTree(body.toString()).path("id").asText();
  }

  private Load.Timing turn(String sessionId, AtomicReference<Closeable> inFlight) throws IOException, InterruptedException {
    URI uri = sessions.resolve("/v1/chat/sessions/" + sessionId + "/messages");
    return http.whole(Http.post(uri, KEY, TURN).build(), 200, "\"content\"", inFlight, null);
  }

  /** K sessions of a few turns each, and the live heap (after a full GC) before and after, divided by K. */
  private Map<String, Object> heapPerSession(long atriumPid) {
    Map<String, Object> heap = new LinkedHashMap<>();
    if (heapSessions == 0) {
      return heap;
    }
    System.out.printf("%nheap: %d sessions with %d turn(s) each, live heap after a full GC before and after%n",
        heapSessions, heapTurns);
    long before = JdkTools.usedAfterGc(atriumPid);
    long started = System.nanoTime();
    long deadline = started + HEAP_PHASE_LIMIT.toNanos();
    AtomicInteger next = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    List<Thread> workers = new ArrayList<>();
    for (int i = 0; i < concurrency; i++) {
      Thread t = new Thread(() -> {
        AtomicReference<Closeable> inFlight = new AtomicReference<>();
        while (next.getAndIncrement() < heapSessions && System.nanoTime() < deadline) {
          try {
            String id = create(inFlight);
            for (int n = 0; n < heapTurns; n++) {
              turn(id, inFlight);
            }
          } catch (InterruptedException e) {
            return;
          } catch (IOException e) {
            failures.incrementAndGet();
          }
        }
      }, "heap-" + i);
      t.setDaemon(true);
      t.start();
      workers.add(t);
    }
    for (Thread t : workers) {
      try {
        t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000 + 5_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    long after = JdkTools.usedAfterGc(atriumPid);
    int created = Math.min(next.get(), heapSessions) - failures.get();
    heap.put("sessions", created);
    heap.put("turns_per_session", heapTurns);
    heap.put("failures", failures.get());
    heap.put("seconds_to_create", Report.round(seconds));
    heap.put("used_before_mib", Report.round(before / 1048576.0));
    heap.put("used_after_mib", Report.round(after / 1048576.0));
    heap.put("bytes_per_session", created <= 0 ? null : (after - before) / created);
    return heap;
  }

  private void print(Case fresh, Case warm, Map<String, Object> heap, String syncCommit, Report report) {
    System.out.printf("%nresults: %d concurrent clients, local model, PostgreSQL synchronous_commit=%s%n", concurrency,
        syncCommit);
    Report.table(List.of("case", "turns/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "atrium cpu ms/turn",
            "postgres cpu", "node + postgres", "bench cpu", "machine %"),
        List.of(row(fresh), row(warm)));
    System.out.printf("%nPostgreSQL CPU per turn by process (ms):%n");
    List<List<String>> split = new ArrayList<>();
    for (Case c : List.of(fresh, warm)) {
      List<String> row = new ArrayList<>(List.of(c.name));
      PostgresProcesses.KINDS.forEach(kind -> row.add(Report.fmt(c.cpuMsPerRequest("postgres:" + kind))));
      split.add(row);
    }
    List<String> header = new ArrayList<>(List.of("case"));
    header.addAll(PostgresProcesses.KINDS);
    Report.table(header, split);
    if (heap.get("bytes_per_session") instanceof Long perSession) {
      System.out.printf("%nheap per active session: %.1f KiB (%s sessions, %d turn(s) each; live heap %s -> %s MiB)%n",
          perSession / 1024.0, heap.get("sessions"), heapTurns, heap.get("used_before_mib"), heap.get("used_after_mib"));
    }
    System.out.printf("%ntargets:%n");
    report.target("persisted turns per second (warm)", warm.perSecond(), ">=", 1000, "/s");
    report.target("turn latency p99 (persisted, warm)", warm.totalMs(99), "<=", 20, "ms");
    report.target("node + PostgreSQL CPU per turn (warm)", nodeAndPostgres(warm), "<=", 2, "ms");
    report.target("fresh PostgreSQL CPU per turn / warm", warm.cpuMsPerRequest("postgres") == 0 ? Double.NaN
        : fresh.cpuMsPerRequest("postgres") / warm.cpuMsPerRequest("postgres"), "<=", 1.5, "x");
    report.target("warm turns/s / fresh turns/s", fresh.perSecond() == 0 ? Double.NaN
        : warm.perSecond() / fresh.perSecond(), "<=", 1.5, "x");

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("concurrency", concurrency);
    config.put("duration_s", duration.toMillis() / 1000.0);
    config.put("warmup_s", warmup.toMillis() / 1000.0);
    config.put("turns_per_session", turnsPerSession);
    config.put("postgres_synchronous_commit", syncCommit);
    config.put("node_root", nodeRoot == null ? null : nodeRoot.toString());
    report.put("config", config).put("fresh", fresh.toJson()).put("turns", warm.toJson()).put("heap", heap);
  }

  private static List<String> row(Case c) {
    return List.of(c.name, Report.fmt(c.perSecond()), Report.fmt(c.totalMs(50)), Report.fmt(c.totalMs(90)),
        Report.fmt(c.totalMs(99)), Report.fmt(c.totalMs(100)), Long.toString(c.errors()),
        Report.fmt(c.cpuMsPerRequest("atrium")), Report.fmt(c.cpuMsPerRequest("postgres")),
        Report.fmt(nodeAndPostgres(c)), Report.fmt(c.cpuMsPerRequest("bench")), Report.fmt(c.machineBusy() * 100));
  }

  private static double nodeAndPostgres(Case c) {
    return c.cpuMsPerRequest("atrium") + c.cpuMsPerRequest("postgres");
  }

  /** The setting as the postmaster was started with it (zonky passes server settings as -c flags). */
  private static String synchronousCommit(long postgresPid) {
    try {
      String cmdline = Files.readString(Path.of("/proc", Long.toString(postgresPid), "cmdline")).replace('\0', ' ');
      int at = cmdline.indexOf("synchronous_commit=");
      return at < 0 ? "unknown (PostgreSQL's default is on)" : cmdline.substring(at + 19).split("\\s+")[0];
    } catch (IOException e) {
      return "unknown";
    }
  }
}
