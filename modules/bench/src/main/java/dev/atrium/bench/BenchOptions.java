package dev.atrium.bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The command line of {@code ./atrium bench <scenario>}: {@code --name value} or
 * {@code --name=value} flags, each scenario naming the flags it accepts and their defaults.
 */
final class BenchOptions {
  static final String USAGE = """
      usage: ./atrium bench <scenario> [options]

        chat      N streams/requests against the mock upstream directly and through
                  Atrium's POST /v1/chat/completions, streaming and not, in alternating
                  windows of one run
                    [--concurrency 64] [--duration 30s] [--warmup 20s] [--window 10s]
                    [--chunks 20] [--chunk-delay-ms 10] [--first-token-delay-ms 0]
                    [--chunks-compare 1] (short streams beside the long ones: the marginal
                    CPU per chunk) [--node-root DIR] (measure the node of another checkout,
                    e.g. a baseline, with this bench and mock) [--compare-metering yes | --compare-budgets yes]
                    (a second node of the same build with usage metering, or budgets,
                    off, in the same windows: the CPU they add per call)
        sessions  persisted turns per second through POST /v1/chat/sessions/{id}/messages
                  (demo tenant, local model), then heap per active session
                    [--concurrency 32] [--duration 30s] [--warmup 20s]
                    [--turns-per-session 20] [--heap-sessions 2000] [--heap-turns 3]
                    [--node-root DIR] (as for chat: another checkout's node)
        limits    rate-limit decisions per second through GET /v1/tenant, one key (bucket)
                  per client, against GET /alive and /health; then one hot key (bucket
                  of 20 at 10/s) drained by many clients: allowed against the theory
                    [--concurrency 64] [--duration 30s] [--warmup 20s] [--window 10s]
                    [--hot-clients 50] [--hot-seconds 60s]
        budgets   exactness: --burst calls at once against a cap whose hard-limit ratio admits
                  half of them (successes, spent against the limit, overshoot); then one
                  tenant's calls with budgets on and off (same build, alternating windows):
                  reservations per second and node CPU per reservation
                    [--burst 200] [--concurrency 32] [--duration 20s] [--warmup 15s] [--window 5s]
        runs      N small batch runs against the mock upstream: POST /v1/runs -> 202
                  latency, and runs completed per second
                    [--runs 1000] [--concurrency 32] [--warmup-runs 100] [--prompts 2-3]
                    [--chunks 4] [--chunk-delay-ms 1] [--max-running 64] [--timeout 10m]
        rag       POST /v1/search over HTTP on the checkout's docs, uncached and cached;
                  then the retrieval query on N synthetic chunks loaded over JDBC:
                  latency and recall@10 against exact search
                    [--chunks 100000] [--queries 1000] [--recall-queries 100]
                    [--searches 200] [--distribution clustered|uniform] [--seed 42]
        ingest    chunks per second through POST /v1/documents (ingest runs, local MiniLM
                  embedder) until the documents are listed, against the same chunks through
                  POST /v1/embeddings alone; bytes of journal and tables per chunk
                    [--documents 40] [--chunks-per-document 25] [--concurrency 4]
                    [--warmup-documents 12] [--seed 42]

        cache     the response cache through POST /v1/chat/completions: hits against
                  misses (fresh prompts) through the mock upstream, streaming and not, in
                  alternating windows of one run, with node and PostgreSQL CPU per request;
                  then a replayed workload of repeated prompts and its hit ratio
                    [--concurrency 16] [--duration 20s] [--warmup 20s] [--window 5s]
                    [--chunks 20] [--chunk-delay-ms 5] [--requests 1000] [--prompts 200]
                    [--zipf 1.0] [--replay-concurrency 8]
        guardrails streamed calls of two tenants on one node, interleaved: one with guardrails
                  (a --terms blocklist and the pattern redactor on input and output), one
                  without: node CPU per streamed chunk of each and their ratio, added TTFT,
                  PostgreSQL CPU per call
                    [--concurrency 16] [--duration 40s] [--warmup 20s] [--window 5s]
                    [--chunks 50] [--terms 50]
        auth      what authenticating costs the node: GET /v1/tenant with an API key, an
                  EdDSA JWT and an RS256 JWT (keys cached, one credential per client) in
                  alternating windows of one run; node and PostgreSQL CPU per request
                    [--concurrency 64] [--duration 30s] [--warmup 20s] [--window 10s]
        stateless the FREE stateless path of POST /v1/repos/ask at a fixed rate: a FREE streamed
                  chat call (baseline), a 1 MB and a 10 MB zip archive in alternating windows
                  of one run; errors, p50/p95 to the done event, node and PostgreSQL CPU, bytes
                  allocated and heap held per request in flight
                    [--rate 20] [--duration 60s] [--warmup 60s] [--window 10s]
                    [--max-in-flight 64] [--chunks 20] [--chunk-delay-ms 10] [--seed 42]

        --duration is the measured time of each case; durations take ms, s or m
        (--hot-seconds too: 60 and 60s are both accepted).
        Results: a table on stdout and target/bench/<scenario>-<timestamp>.json.
      """;

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)");
  private static final Pattern RANGE = Pattern.compile("(\\d{1,9})(?:-(\\d{1,9}))?");

  private final Map<String, String> values;

  private BenchOptions(Map<String, String> values) {
    this.values = values;
  }

  /** Throws IllegalArgumentException naming the flag, for the caller to print with the usage. */
  static BenchOptions parse(String[] args, int from, Set<String> accepted) {
    Map<String, String> values = new HashMap<>();
    for (int i = from; i < args.length; i++) {
      String flag = args[i];
      String value;
      int eq = flag.indexOf('=');
      if (flag.startsWith("--") && eq > 0) {
        value = flag.substring(eq + 1);
        flag = flag.substring(0, eq);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      if (!flag.startsWith("--") || !accepted.contains(flag.substring(2))) {
        throw new IllegalArgumentException("unknown option " + flag);
      }
      values.put(flag.substring(2), value);
    }
    return new BenchOptions(values);
  }

  int integer(String name, int defaultValue, int min, int max) {
    String value = values.get(name);
    if (value == null) {
      return defaultValue;
    }
    try {
      int n = Integer.parseInt(value);
      if (n < min || n > max) {
        throw new IllegalArgumentException("--" + name + " must be between " + min + " and " + max);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a number, not '" + value + "'");
    }
  }

  /** {@code --name 2-3} (or {@code --name 3}, the same as 3-3) as {min, max}. */
  int[] range(String name, int[] defaultValue, int min, int max) {
    String value = values.get(name);
    if (value == null) {
      return defaultValue.clone();
    }
    Matcher m = RANGE.matcher(value);
    if (!m.matches()) {
      throw new IllegalArgumentException("--" + name + " must be a number or a range such as 2-3, not '" + value + "'");
    }
    int lo = Integer.parseInt(m.group(1));
    int hi = m.group(2) == null ? lo : Integer.parseInt(m.group(2));
    if (lo < min || hi > max || lo > hi) {
      throw new IllegalArgumentException("--" + name + " must lie between " + min + " and " + max + ", low end first");
    }
    return new int[] {lo, hi};
  }

  /** A free value, such as a path. */
  String text(String name, String defaultValue) {
    return values.getOrDefault(name, defaultValue);
  }

  /** One of a few words, for options that pick a mode. */
  String choice(String name, String defaultValue, Set<String> choices) {
    String value = values.getOrDefault(name, defaultValue);
    if (!choices.contains(value)) {
      throw new IllegalArgumentException("--" + name + " must be one of " + new java.util.TreeSet<>(choices)
          + ", not '" + value + "'");
    }
    return value;
  }

  /** A duration whose name says its unit ({@code --hot-seconds 20}): a bare number is seconds. */
  Duration seconds(String name, Duration defaultValue) {
    String value = values.get(name);
    if (value != null && value.matches("\\d{1,9}")) {
      return Duration.ofSeconds(Long.parseLong(value));
    }
    return duration(name, defaultValue);
  }

  Duration duration(String name, Duration defaultValue) {
    String value = values.get(name);
    if (value == null) {
      return defaultValue;
    }
    Matcher m = DURATION.matcher(value);
    if (!m.matches()) {
      throw new IllegalArgumentException("--" + name + " must be a duration such as 500ms, 30s or 2m, not '" + value + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      default -> Duration.ofMinutes(n);
    };
  }
}
