package dev.atrium.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Bytes another JVM allocated between two instants, from a Flight Recorder recording of
 * its {@code jdk.ThreadAllocationStatistics} alone (every thread's allocated bytes so far,
 * once a second), started and dumped with {@code jcmd}. Unlike Micrometer's
 * {@code jvm_gc_memory_allocated_bytes_total}, which counts what filled the young
 * generation, it also counts the arrays G1 allocates straight into the old generation
 * (humongous objects: anything over half a region, such as a 10 MB request body). A thread
 * that ends between two samples takes its last second with it.
 */
final class Allocations {
  static final String EVENT = "jdk.ThreadAllocationStatistics";
  /** Samples of one emission are written within microseconds of each other; emissions are a second apart. */
  private static final Duration SAME_EMISSION = Duration.ofMillis(200);
  private static final String NAME = "bench-allocations";

  /** One emission: each thread's allocated bytes so far (by Java thread id), at {@code at}. */
  record Sample(Instant at, Map<Long, Long> perThread) {}

  private final long pid;
  private final Path dir;

  private Allocations(long pid, Path dir) {
    this.pid = pid;
    this.dir = dir;
  }

  /** Starts the recording in process {@code pid}; its settings file goes to {@code dir}. */
  static Allocations start(long pid, Path dir) {
    Path settings = dir.resolve("allocations.jfc");
    try {
      Files.createDirectories(dir);
      Files.writeString(settings, """
          <?xml version="1.0" encoding="UTF-8"?>
          <configuration version="2.0" label="bench allocations" description="Per-thread allocated bytes, once a second">
            <event name="%s">
              <setting name="enabled">true</setting>
              <setting name="period">1 s</setting>
            </event>
          </configuration>
          """.formatted(EVENT));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    JdkTools.jcmd(pid, "JFR.start", "name=" + NAME, "settings=" + settings);
    return new Allocations(pid, dir);
  }

  /**
   * The samples so far, oldest first, once one is at or after {@code until} (a sample comes
   * once a second: the recording is dumped again until it holds one, for at most
   * {@code timeout}); the recording runs on.
   */
  List<Sample> samplesUntil(Instant until, Duration timeout) {
    Path file = dir.resolve("allocations.jfr");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JdkTools.jcmd(pid, "JFR.dump", "name=" + NAME, "filename=" + file);
      List<Sample> samples;
      try {
        samples = read(file);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
      boolean covered = !samples.isEmpty() && !samples.get(samples.size() - 1).at().isBefore(until);
      if (covered || System.nanoTime() > deadline) {
        return samples;
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return samples;
      }
    }
  }

  /** Ends the recording (its data is dropped with it). */
  void stop() {
    JdkTools.jcmd(pid, "JFR.stop", "name=" + NAME);
  }

  static List<Sample> read(Path file) throws IOException {
    List<RecordedEvent> events = new ArrayList<>();
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      if (e.getEventType().getName().equals(EVENT)) {
        events.add(e);
      }
    }
    events.sort(Comparator.comparing(RecordedEvent::getStartTime));
    List<Sample> samples = new ArrayList<>();
    Instant batchAt = null;
    Map<Long, Long> batch = null;
    for (RecordedEvent e : events) {
      RecordedThread thread = e.getThread("thread");
      if (thread == null) {
        continue;
      }
      if (batch == null || e.getStartTime().isAfter(batchAt.plus(SAME_EMISSION))) {
        batch = new HashMap<>();
        batchAt = e.getStartTime();
        samples.add(new Sample(batchAt, batch));
      }
      batch.merge(thread.getJavaThreadId(), e.getLong("allocated"), Math::max);
    }
    return samples;
  }

  /**
   * Bytes allocated from the last sample at or before {@code from} to the first at or after
   * {@code to} (so the span covers the interval; a run puts its boundaries in idle moments):
   * per thread, its later count less its earlier one (0 for a thread born in between).
   * -1 when the samples do not cover the interval.
   */
  static long between(List<Sample> samples, Instant from, Instant to) {
    Sample before = null;
    Sample after = null;
    for (Sample s : samples) {
      if (!s.at().isAfter(from)) {
        before = s;
      }
      if (after == null && !s.at().isBefore(to)) {
        after = s;
      }
    }
    if (before == null || after == null) {
      return -1;
    }
    long total = 0;
    for (Map.Entry<Long, Long> t : after.perThread().entrySet()) {
      total += Math.max(0, t.getValue() - before.perThread().getOrDefault(t.getKey(), 0L));
    }
    return total;
  }
}
