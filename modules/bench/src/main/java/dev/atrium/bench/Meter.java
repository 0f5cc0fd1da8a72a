package dev.atrium.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/** The CPU clocks a run watches: one per process it measures (by name), and the machine's. */
final class Meter {
  private final Map<String, LongSupplier> clocks = new LinkedHashMap<>();

  /** The bench's own JVM is always watched: it shares the cores with what it measures. */
  Meter() {
    long self = ProcessHandle.current().pid();
    clocks.put("bench", () -> Cpu.processNanos(self));
  }

  Meter watch(String name, LongSupplier cpuNanos) {
    clocks.put(name, cpuNanos);
    return this;
  }

  Reading read() {
    Map<String, Long> now = new LinkedHashMap<>();
    clocks.forEach((name, clock) -> now.put(name, clock.getAsLong()));
    return new Reading(now, Cpu.Machine.now());
  }

  record Reading(Map<String, Long> cpuNanos, Cpu.Machine machine) {
    Map<String, Long> cpuUntil(Reading later) {
      Map<String, Long> delta = new LinkedHashMap<>();
      cpuNanos.forEach((name, nanos) -> delta.put(name, Math.max(0, later.cpuNanos.getOrDefault(name, 0L) - nanos)));
      return delta;
    }
  }
}
