package dev.atrium.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code ./atrium bench <scenario> [options]}: starts what it measures, loads it over HTTP
 * from this JVM, prints a table, writes {@code target/bench/<scenario>-<timestamp>.json},
 * and stops every process it started, whether the run ends, fails or is interrupted.
 */
public final class Bench {
  private Bench() {}

  public static void main(String[] args) {
    String scenario = args.length == 0 ? "" : args[0];
    if (scenario.isEmpty() || scenario.equals("-h") || scenario.equals("--help") || scenario.equals("help")) {
      System.out.print(BenchOptions.USAGE);
      return;
    }
    Path root = Path.of(System.getProperty("atrium.root", ".")).toAbsolutePath().normalize();
    BenchOptions options;
    try {
      options = switch (scenario) {
        case "chat" -> BenchOptions.parse(args, 1, ChatScenario.OPTIONS);
        case "sessions" -> BenchOptions.parse(args, 1, SessionsScenario.OPTIONS);
        case "limits" -> BenchOptions.parse(args, 1, LimitsScenario.OPTIONS);
        case "budgets" -> BenchOptions.parse(args, 1, BudgetsScenario.OPTIONS);
        case "runs" -> BenchOptions.parse(args, 1, RunsScenario.OPTIONS);
        case "rag" -> BenchOptions.parse(args, 1, RagScenario.OPTIONS);
        case "ingest" -> BenchOptions.parse(args, 1, IngestScenario.OPTIONS);
        case "cache" -> BenchOptions.parse(args, 1, CacheScenario.OPTIONS);
        case "guardrails" -> BenchOptions.parse(args, 1, GuardrailsScenario.OPTIONS);
        case "auth" -> BenchOptions.parse(args, 1, AuthScenario.OPTIONS);
        case "stateless" -> BenchOptions.parse(args, 1, StatelessScenario.OPTIONS);
        default -> throw new IllegalArgumentException("unknown scenario '" + scenario + "'");
      };
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.print(BenchOptions.USAGE);
      System.exit(2);
      return;
    }

    Path runDir = root.resolve("target/bench/" + scenario + "-" + Report.TIMESTAMP);
    Http http = new Http();
    Report report = new Report(scenario).put("machine", machine(root));
    System.out.printf("bench %s: processes' logs in %s%n", scenario, root.relativize(runDir));
    try (Fleet fleet = new Fleet(root, runDir, http)) {
      switch (scenario) {
        case "chat" -> new ChatScenario(options, http, fleet, runDir).run(report);
        case "limits" -> new LimitsScenario(options, http, fleet, runDir).run(report);
        case "budgets" -> new BudgetsScenario(options, http, fleet, runDir).run(report);
        case "runs" -> new RunsScenario(options, http, fleet, runDir).run(report);
        case "rag" -> new RagScenario(options, http, fleet, root, runDir).run(report);
        case "ingest" -> new IngestScenario(options, http, fleet, runDir).run(report);
        case "cache" -> new CacheScenario(options, http, fleet, runDir).run(report);
        case "guardrails" -> new GuardrailsScenario(options, http, fleet, runDir).run(report);
        case "auth" -> new AuthScenario(options, http, fleet, runDir).run(report);
        case "stateless" -> new StatelessScenario(options, http, fleet, runDir).run(report);
        default -> new SessionsScenario(options, http, fleet, root, runDir).run(report);
      }
    } catch (RuntimeException e) {
      System.err.println("bench: " + scenario + " failed: " + (e.getMessage() == null ? e : e.getMessage()));
      if (e.getMessage() == null) {
        e.printStackTrace();
      }
      System.exit(1);
    }
    Path written = report.write(root);
    System.out.printf("%nwritten %s%n", root.relativize(written));
  }

  /** What the figures depend on: they mean little without the cores and what else ran. */
  private static Map<String, Object> machine(Path root) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("load_average_at_start", read("/proc/loadavg"));
    m.put("git_commit", git(root));
    return m;
  }

  private static String read(String file) {
    try {
      return Files.readString(Path.of(file)).trim();
    } catch (IOException e) {
      return null;
    }
  }

  private static String git(Path root) {
    try {
      Process p = new ProcessBuilder("git", "-C", root.toString(), "describe", "--always", "--dirty")
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return p.waitFor() == 0 ? out : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
