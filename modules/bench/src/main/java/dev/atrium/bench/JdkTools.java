package dev.atrium.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Another JVM seen through the JDK's own tools: its live heap ({@code jcmd PID GC.run}, a
 * full collection, then {@code jstat -gc PID}, whose used columns add up to the heap in use
 * whichever collector runs) and its JIT activity ({@code jstat -compiler PID}).
 */
final class JdkTools {
  private static final List<String> USED_COLUMNS = List.of("S0U", "S1U", "EU", "OU");

  private JdkTools() {}

  /** Methods compiled so far and the JIT's accumulated time: still rising means the JVM is not warm yet. */
  record Jit(long compiled, double seconds) {}

  static Jit jit(long pid) {
    try {
      String[] lines = run(tool("jstat"), "-compiler", Long.toString(pid)).trim().split("\n");
      String[] values = lines[lines.length - 1].trim().split("\\s+");
      return new Jit(Long.parseLong(values[0]), Double.parseDouble(values[3]));
    } catch (RuntimeException e) {
      return new Jit(-1, Double.NaN);
    }
  }

  /**
   * A full collection ({@code System.gc()} in the target): empties the young generation, so
   * a collector's allocation counter has counted everything allocated before it.
   */
  static void gc(long pid) {
    run(tool("jcmd"), Long.toString(pid), "GC.run");
  }

  /** {@code jcmd PID command args...} (Flight Recorder, for {@link Allocations}); its output. */
  static String jcmd(long pid, String command, String... args) {
    List<String> line = new java.util.ArrayList<>(List.of(tool("jcmd"), Long.toString(pid), command));
    line.addAll(List.of(args));
    return run(line.toArray(String[]::new));
  }

  /** Bytes in use right after a full GC; two GCs, so that what the first one freed is not still counted. */
  static long usedAfterGc(long pid) {
    run(tool("jcmd"), Long.toString(pid), "GC.run");
    run(tool("jcmd"), Long.toString(pid), "GC.run");
    String[] lines = run(tool("jstat"), "-gc", Long.toString(pid)).trim().split("\n");
    String[] names = lines[0].trim().split("\\s+");
    String[] values = lines[lines.length - 1].trim().split("\\s+");
    double kib = 0;
    for (int i = 0; i < names.length && i < values.length; i++) {
      if (USED_COLUMNS.contains(names[i])) {
        kib += Double.parseDouble(values[i]);
      }
    }
    return (long) (kib * 1024);
  }

  private static String tool(String name) {
    Path p = Path.of(System.getProperty("java.home"), "bin", name);
    return Files.isExecutable(p) ? p.toString() : name;
  }

  private static String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException("could not run " + command[0] + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + String.join(" ", command), e);
    }
  }
}
