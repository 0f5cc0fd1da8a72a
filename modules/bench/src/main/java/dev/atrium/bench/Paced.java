package dev.atrium.bench;

import java.io.Closeable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Open-loop load at a fixed rate, unlike {@link Load}'s closed loop: request i is due at
 * start + i / rate whether or not earlier ones have answered, so a slow node meets the
 * same arrivals and its slowness shows as latency and requests in flight, not as a lower
 * rate. Latency counts from the moment a request was due (a late send is the bench's
 * delay, charged to the request, so no coordinated omission). At most {@code maxInFlight}
 * requests run at once: a request due while that many are in flight is not sent and counts
 * as an error; every request sent is waited for (at most {@link #DRAIN}), then cut off.
 */
final class Paced {
  static final Duration DRAIN = Duration.ofSeconds(30);
  private static final int ERROR_SAMPLES = 3;

  /** One request, sent and read to its end on the calling thread. */
  interface Request {
    Load.Timing send(AtomicReference<Closeable> inFlight) throws Exception;
  }

  /**
   * What one window measured: {@code window} as {@link Load} reports it (completed = answered
   * well inside the window; errors include the requests not sent), the requests due, sent and
   * refused by the in-flight cap, and the mean latency of every request sent, failed or not
   * (the time a request spends in the system, for Little's law).
   */
  record Result(Load.Window window, long due, long sent, long refused, double meanLatencyNanos) {}

  private Paced() {}

  static Result run(String label, double perSecond, int maxInFlight, Request request, Duration length, Meter meter,
      AtomicInteger inFlightNow) {
    if (perSecond <= 0 || maxInFlight < 1) {
      throw new IllegalArgumentException("a positive rate and at least one request in flight");
    }
    AtomicInteger threads = new AtomicInteger();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(0, maxInFlight, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
        r -> {
          Thread t = new Thread(r, "paced-" + label + "-" + threads.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    Histogram first = new ConcurrentHistogram(Load.MAX_MICROS, 3);
    Histogram total = new ConcurrentHistogram(Load.MAX_MICROS, 3);
    AtomicLong completedInWindow = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    LongAdder latencySum = new LongAdder();
    LongAdder latencyCount = new LongAdder();
    List<String> samples = new ArrayList<>();
    Set<AtomicReference<Closeable>> open = ConcurrentHashMap.newKeySet();

    Meter.Reading before = meter.read();
    long start = System.nanoTime();
    long end = start + length.toNanos();
    double interval = 1e9 / perSecond;
    long due = 0;
    long refused = 0;
    for (long i = 0; ; i++) {
      long at = start + (long) (i * interval);
      if (at >= end || Thread.currentThread().isInterrupted()) {
        break;
      }
      sleepUntil(at);
      due++;
      try {
        pool.execute(() -> {
          AtomicReference<Closeable> inFlight = new AtomicReference<>();
          open.add(inFlight);
          inFlightNow.incrementAndGet();
          long late = System.nanoTime() - at;
          try {
            Load.Timing t = request.send(inFlight);
            long done = System.nanoTime();
            first.recordValue(Math.min(Load.MAX_MICROS, (late + t.firstNanos()) / 1000));
            total.recordValue(Math.min(Load.MAX_MICROS, (late + t.totalNanos()) / 1000));
            if (done <= end) {
              completedInWindow.incrementAndGet();
            }
          } catch (Exception e) {
            failed.incrementAndGet();
            synchronized (samples) {
              if (samples.size() < ERROR_SAMPLES) {
                samples.add(e.getClass().getSimpleName() + ": " + e.getMessage());
              }
            }
            if (e instanceof InterruptedException) {
              Thread.currentThread().interrupt();
            }
          } finally {
            latencySum.add(System.nanoTime() - at);
            latencyCount.increment();
            inFlightNow.decrementAndGet();
            open.remove(inFlight);
          }
        });
      } catch (RejectedExecutionException e) {
        refused++;
      }
    }
    sleepUntil(end);
    Meter.Reading after = meter.read();
    drain(pool, open);

    long errors = failed.get() + refused;
    if (refused > 0 && samples.size() < ERROR_SAMPLES) {
      samples.add(refused + " request(s) not sent: " + maxInFlight + " already in flight");
    }
    Load.Window window = new Load.Window(label, end - start, completedInWindow.get(), errors, List.copyOf(samples),
        first, total, before.cpuUntil(after), before.machine().busyUntil(after.machine()));
    long count = latencyCount.sum();
    return new Result(window, due, due - refused, refused, count == 0 ? Double.NaN : (double) latencySum.sum() / count);
  }

  /** Waits for the requests sent; those still running after DRAIN are cut off (their streams closed). */
  private static void drain(ThreadPoolExecutor pool, Set<AtomicReference<Closeable>> open) {
    pool.shutdown();
    try {
      if (!pool.awaitTermination(DRAIN.toMillis(), TimeUnit.MILLISECONDS)) {
        for (AtomicReference<Closeable> ref : open) {
          Closeable c = ref.get();
          if (c != null) {
            try {
              c.close();
            } catch (Exception ignored) {
              // closing is all we can do
            }
          }
        }
        pool.shutdownNow();
        pool.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      pool.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private static void sleepUntil(long nanoTime) {
    long left;
    while ((left = nanoTime - System.nanoTime()) > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
