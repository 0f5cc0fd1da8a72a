package dev.atrium.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What a run prints (aligned tables, target verdicts) and writes (one JSON document). */
final class Report {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final String TIMESTAMP = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));

  private final Map<String, Object> json = new LinkedHashMap<>();
  private final List<Map<String, Object>> targets = new ArrayList<>();

  Report(String scenario) {
    json.put("scenario", scenario);
    json.put("timestamp", TIMESTAMP);
  }

  Report put(String key, Object value) {
    json.put(key, value);
    return this;
  }

  /** Checks a target, prints its verdict and keeps it for the JSON. */
  void target(String name, double value, String comparison, double limit, String unit) {
    boolean met = !Double.isNaN(value) && (comparison.equals(">=") ? value >= limit : value <= limit);
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("name", name);
    t.put("value", round(value));
    t.put("target", comparison + " " + fmt(limit) + (unit.isEmpty() ? "" : " " + unit));
    t.put("met", met);
    targets.add(t);
    System.out.printf("  %-4s %-44s %10s %s  (target %s %s%s)%n", met ? "ok" : "MISS", name, fmt(value), unit,
        comparison, fmt(limit), unit.isEmpty() ? "" : " " + unit);
  }

  /** JIT work inside the measured windows: a large number says the warm-up was too short for this machine. */
  void jit(JdkTools.Jit before, JdkTools.Jit after) {
    jit("atrium", before, after);
  }

  /** The same for the node named {@code node} (its figures under {@code <node>_jit_during_measurement}). */
  void jit(String node, JdkTools.Jit before, JdkTools.Jit after) {
    long compiled = after.compiled() - before.compiled();
    double seconds = after.seconds() - before.seconds();
    System.out.printf("%n%s's JIT during the measured windows: %d methods compiled, %.1f s of compiler time%s%n",
        node.equals("atrium") ? "Atrium" : node, compiled, seconds,
        seconds > 5 ? " (still warming up: a longer --warmup gives steadier figures)" : "");
    put(node.replace('-', '_') + "_jit_during_measurement", Map.of("methods_compiled", compiled,
        "compiler_seconds", Report.round(seconds)));
  }

  Path write(Path root) {
    json.put("targets", targets);
    Path file = root.resolve("target/bench/" + json.get("scenario") + "-" + TIMESTAMP + ".json");
    try {
      Files.createDirectories(file.getParent());
      JSON.writeValue(file.toFile(), json);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + file, e);
    }
    return file;
  }

  static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Three decimals, or null (JSON has no NaN) when nothing was measured. */
  static Double round(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? null : Math.round(v * 1000) / 1000.0;
  }

  static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "-";
    }
    double a = Math.abs(v);
    String pattern = a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f";
    return String.format(Locale.ROOT, pattern, v);
  }

  /** Prints rows as columns: the first left-aligned, the rest right-aligned. */
  static void table(List<String> header, List<List<String>> rows) {
    int[] width = new int[header.size()];
    List<List<String>> all = new ArrayList<>();
    all.add(header);
    all.addAll(rows);
    for (List<String> row : all) {
      for (int i = 0; i < row.size(); i++) {
        width[i] = Math.max(width[i], row.get(i).length());
      }
    }
    for (int r = 0; r < all.size(); r++) {
      StringBuilder line = new StringBuilder("  ");
      List<String> row = all.get(r);
      for (int i = 0; i < row.size(); i++) {
        String cell = row.get(i);
        String pad = " ".repeat(width[i] - cell.length());
        line.append(i == 0 ? cell + pad : pad + cell).append(i == row.size() - 1 ? "" : "  ");
      }
      System.out.println(line);
      if (r == 0) {
        System.out.println("  " + "-".repeat(line.length() - 2));
      }
    }
  }
}
