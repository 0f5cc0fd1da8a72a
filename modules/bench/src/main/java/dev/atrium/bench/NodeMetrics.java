package dev.atrium.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The node's own JVM figures from its admin port's {@code /metrics} (Prometheus text, no
 * token needed): the heap in use and the bytes allocated so far. The bench has no other way
 * to see inside the node's JVM while it runs (a {@code ThreadMXBean} is local to its JVM).
 * A scrape costs the node a little CPU, so a run scrapes at a modest pace.
 */
final class NodeMetrics {
  static final String HEAP_USED = "jvm_memory_used_bytes";
  /** Micrometer's JvmGcMetrics: advanced at each collection by what the young generation had filled. */
  static final String ALLOCATED = "jvm_gc_memory_allocated_bytes_total";

  private final Http http;
  private final HttpRequest scrape;

  /** One scrape's two figures. */
  record Reading(long heapUsedBytes, long allocatedBytes) {}

  NodeMetrics(Http http, URI admin) {
    this.http = http;
    this.scrape = Http.get(admin.resolve("/metrics"), null).build();
  }

  Reading read() {
    try {
      Http.Answer a = http.exchange(scrape, new AtomicReference<>());
      if (a.status() != 200) {
        throw new IllegalStateException("GET /metrics on the admin port: HTTP " + a.status());
      }
      double heap = sum(a.body(), HEAP_USED, "area=\"heap\"");
      double allocated = sum(a.body(), ALLOCATED, "");
      if (Double.isNaN(heap) || Double.isNaN(allocated)) {
        throw new IllegalStateException("the node's /metrics has no " + (Double.isNaN(heap) ? HEAP_USED : ALLOCATED));
      }
      return new Reading((long) heap, (long) allocated);
    } catch (IOException e) {
      throw new IllegalStateException("GET /metrics on the admin port: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }

  /**
   * The sum of a metric's samples whose labels contain {@code label} (every sample when it is
   * empty): the heap is one series per memory pool. NaN when the metric is absent.
   */
  static double sum(String scrape, String metric, String label) {
    double total = 0;
    boolean found = false;
    for (String line : scrape.split("\n")) {
      if (!line.startsWith(metric) || line.length() == metric.length()) {
        continue;
      }
      char next = line.charAt(metric.length());
      if (next != '{' && next != ' ') {
        continue; // another metric whose name starts with this one
      }
      int close = next == '{' ? line.indexOf('}') : metric.length();
      if (close < 0 || (!label.isEmpty() && !line.substring(0, close).contains(label))) {
        continue;
      }
      String[] rest = line.substring(close + 1).trim().split("\\s+");
      total += Double.parseDouble(rest[0]);
      found = true;
    }
    return found ? total : Double.NaN;
  }
}
