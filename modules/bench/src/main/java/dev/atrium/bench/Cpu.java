package dev.atrium.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time from Linux's /proc: per process (utime + stime of /proc/PID/stat, which counts
 * every thread of a JVM) and for the whole machine (/proc/stat), in nanoseconds.
 */
final class Cpu {
  private static final long TICK_NANOS = 1_000_000_000L / clockTicksPerSecond();

  private Cpu() {}

  /** CPU time a process has used so far; 0 once it is gone (its last reading is then lost, not faked). */
  static long processNanos(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
      // fields[0] is field 3 (state): utime is field 14, stime field 15.
      return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * TICK_NANOS;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** CPU time of a process and all its living descendants (PostgreSQL's backends). */
  static long treeNanos(long pid) {
    long total = processNanos(pid);
    var handle = ProcessHandle.of(pid);
    if (handle.isPresent()) {
      for (ProcessHandle child : handle.get().descendants().toList()) {
        total += processNanos(child.pid());
      }
    }
    return total;
  }

  /** Busy and total CPU time of the whole machine (all cores), from the first line of /proc/stat. */
  record Machine(long busyNanos, long totalNanos) {
    static Machine now() {
      try {
        List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
        String[] f = lines.get(0).trim().split("\\s+");
        long total = 0;
        // user nice system idle iowait irq softirq steal (guest time is already in user)
        for (int i = 1; i <= 8 && i < f.length; i++) {
          total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
        return new Machine((total - idle) * TICK_NANOS, total * TICK_NANOS);
      } catch (IOException | RuntimeException e) {
        return new Machine(0, 0);
      }
    }

    /** The busy share of all cores between this reading and a later one, 0..1. */
    double busyUntil(Machine later) {
      long total = later.totalNanos - totalNanos;
      return total <= 0 ? 0 : (double) (later.busyNanos - busyNanos) / total;
    }
  }

  private static long clockTicksPerSecond() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor();
      return Long.parseLong(out);
    } catch (IOException | RuntimeException e) {
      return 100;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 100;
    }
  }
}
