package dev.atrium.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Heap held per request in flight, from outside the node: the median heap in use while a
 * case runs, less the median with nothing running, divided by the mean number of requests
 * in flight (Little's law: arrival rate times mean latency). The heap in use counts garbage
 * the collector has not reached yet, so this is an upper bound on what a request keeps
 * alive: a collector that lets the young generation fill before it collects makes the
 * figure grow with the allocation rate as much as with what a request holds.
 */
final class HeapHeld {
  private HeapHeld() {}

  /** The median of the samples (the mean of the middle two for an even count); NaN for none. */
  static double median(List<Long> samples) {
    if (samples.isEmpty()) {
      return Double.NaN;
    }
    List<Long> sorted = new ArrayList<>(samples);
    Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
  }

  /** Little's law: requests in flight on average = arrivals per second times mean seconds in the system. */
  static double inFlight(double arrivalsPerSecond, double meanLatencySeconds) {
    return arrivalsPerSecond * meanLatencySeconds;
  }

  /**
   * Bytes per request in flight: (median under load - median idle) / mean in flight; NaN
   * when nothing was in flight or a median is missing. Negative when the idle heap happened
   * to be fuller than the loaded one (noise the caller prints as it is).
   */
  static double perInFlight(List<Long> loaded, List<Long> idle, double inFlight) {
    double held = median(loaded) - median(idle);
    return inFlight <= 0 || Double.isNaN(held) ? Double.NaN : held / inFlight;
  }
}
