package dev.atrium.bench;

import java.io.Closeable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;

/**
 * Closed-loop load: N workers, each sending its next request as soon as the previous one
 * has ended, for one window of time. Every request started in the window is waited for
 * (bounded) and its latency recorded; throughput counts the requests that completed
 * inside the window, which is also the span over which CPU time is read.
 */
final class Load {
  /** Enough headroom for a stuck request: latencies are recorded in microseconds up to 10 min. */
  static final long MAX_MICROS = Duration.ofMinutes(10).toNanos() / 1000;
  private static final Duration DRAIN = Duration.ofSeconds(30);
  private static final long STAGGER_NANOS = Duration.ofMillis(100).toNanos();
  private static final int ERROR_SAMPLES = 3;

  /** Two instants of one request, in nanoseconds after it was sent. */
  record Timing(long firstNanos, long totalNanos) {}

  /** One worker's requests: {@link #next} blocks for one request, {@link #abort} unblocks it from another thread. */
  interface Client {
    Timing next(AtomicReference<Closeable> inFlight) throws Exception;
  }

  /** What one window measured. */
  record Window(String label, long nanos, long completed, long errors, List<String> errorSamples,
      Histogram first, Histogram total, Map<String, Long> cpuNanos, double machineBusy) {

    double perSecond() {
      return completed * 1e9 / nanos;
    }

    /** A window in which nothing succeeded measures nothing: stop the run and say why. */
    Window requireSuccess() {
      if (completed == 0 && errors > 0) {
        throw new IllegalStateException("every request of '" + label + "' failed (" + errors + "), e.g. "
            + (errorSamples.isEmpty() ? "?" : errorSamples.get(0)));
      }
      return this;
    }
  }

  private Load() {}

  static Window run(String label, int concurrency, IntFunction<Client> clients, Duration length, Meter meter) {
    List<Worker> workers = new ArrayList<>(concurrency);
    for (int i = 0; i < concurrency; i++) {
      workers.add(new Worker(clients.apply(i)));
    }
    Meter.Reading before = meter.read();
    long start = System.nanoTime();
    long end = start + length.toNanos();
    for (int i = 0; i < workers.size(); i++) {
      Worker w = workers.get(i);
      // Staggered starts: 64 streams opened in the same millisecond would pace their chunks in lockstep.
      long delay = ThreadLocalRandom.current().nextLong(STAGGER_NANOS);
      w.thread = new Thread(() -> w.loop(start + delay, end), "load-" + label + "-" + i);
      w.thread.setDaemon(true);
      w.thread.start();
    }
    sleepUntil(end);
    Meter.Reading after = meter.read();
    drain(workers);

    Histogram first = new Histogram(MAX_MICROS, 3);
    Histogram total = new Histogram(MAX_MICROS, 3);
    long completed = 0;
    long errors = 0;
    List<String> samples = new ArrayList<>();
    for (Worker w : workers) {
      first.add(w.first);
      total.add(w.total);
      completed += w.completedInWindow;
      errors += w.errors;
      for (String s : w.errorSamples) {
        if (samples.size() < ERROR_SAMPLES) {
          samples.add(s);
        }
      }
    }
    return new Window(label, end - start, completed, errors, List.copyOf(samples), first, total,
        before.cpuUntil(after), before.machine().busyUntil(after.machine()));
  }

  /** Waits for requests in flight; a request still running after DRAIN is cut off so the run stays bounded. */
  private static void drain(List<Worker> workers) {
    long deadline = System.nanoTime() + DRAIN.toNanos();
    for (Worker w : workers) {
      join(w.thread, Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
    }
    for (Worker w : workers) {
      if (w.thread.isAlive()) {
        w.abort();
        join(w.thread, 5_000);
      }
    }
  }

  private static void join(Thread t, long millis) {
    try {
      t.join(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleepUntil(long nanoTime) {
    long left;
    while ((left = nanoTime - System.nanoTime()) > 0) {
      try {
        Thread.sleep(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static final class Worker {
    final Client client;
    final Histogram first = new Histogram(MAX_MICROS, 3);
    final Histogram total = new Histogram(MAX_MICROS, 3);
    final AtomicReference<Closeable> inFlight = new AtomicReference<>();
    final List<String> errorSamples = new ArrayList<>();
    Thread thread;
    long completedInWindow;
    long errors;
    volatile boolean aborted;

    Worker(Client client) {
      this.client = client;
    }

    void loop(long startAt, long end) {
      sleepUntil(startAt);
      while (!aborted && System.nanoTime() < end) {
        try {
          Timing t = client.next(inFlight);
          long done = System.nanoTime();
          first.recordValue(Math.min(MAX_MICROS, t.firstNanos() / 1000));
          total.recordValue(Math.min(MAX_MICROS, t.totalNanos() / 1000));
          if (done <= end) {
            completedInWindow++;
          }
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          errors++;
          if (errorSamples.size() < ERROR_SAMPLES) {
            errorSamples.add(e.getClass().getSimpleName() + ": " + e.getMessage());
          }
          // A failing target must not turn the loop into a busy spin.
          sleepUntil(System.nanoTime() + 10_000_000L);
        } finally {
          inFlight.set(null);
        }
      }
    }

    void abort() {
      aborted = true;
      Closeable c = inFlight.get();
      if (c != null) {
        try {
          c.close();
        } catch (Exception ignored) {
          // closing is all we can do
        }
      }
      thread.interrupt();
    }
  }
}
