package dev.atrium.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** One measured case (e.g. "through Atrium, streaming"): the sum of its windows. */
final class Case {
  final String name;
  private final Histogram first = new Histogram(Load.MAX_MICROS, 3);
  private final Histogram total = new Histogram(Load.MAX_MICROS, 3);
  private final Map<String, Long> cpuNanos = new LinkedHashMap<>();
  private final List<String> errorSamples = new ArrayList<>();
  private final List<Double> windowRates = new ArrayList<>();
  private long nanos;
  private long completed;
  private long errors;
  private double busyNanos;

  Case(String name) {
    this.name = name;
  }

  void add(Load.Window w) {
    first.add(w.first());
    total.add(w.total());
    w.cpuNanos().forEach((process, n) -> cpuNanos.merge(process, n, Long::sum));
    for (String s : w.errorSamples()) {
      if (errorSamples.size() < 3) {
        errorSamples.add(s);
      }
    }
    windowRates.add(w.perSecond());
    nanos += w.nanos();
    completed += w.completed();
    errors += w.errors();
    busyNanos += w.machineBusy() * w.nanos();
  }

  /** The measured time of all its windows. */
  double seconds() {
    return nanos / 1e9;
  }

  double perSecond() {
    return nanos == 0 ? 0 : completed * 1e9 / nanos;
  }

  long completed() {
    return completed;
  }

  long errors() {
    return errors;
  }

  /** Milliseconds at a percentile of the first-byte/first-token times. */
  double firstMs(double percentile) {
    return ms(first, percentile);
  }

  double totalMs(double percentile) {
    return ms(total, percentile);
  }

  /** CPU milliseconds per completed request of one watched process. */
  double cpuMsPerRequest(String process) {
    Long n = cpuNanos.get(process);
    return n == null || completed == 0 ? Double.NaN : n / 1e6 / completed;
  }

  /** Cores a process kept busy on average over the measured time. */
  double cores(String process) {
    Long n = cpuNanos.get(process);
    return n == null || nanos == 0 ? Double.NaN : (double) n / nanos;
  }

  /** The machine's busy share of all cores, including work that is not this run's. */
  double machineBusy() {
    return nanos == 0 ? 0 : busyNanos / nanos;
  }

  /** Milliseconds at a percentile of a histogram of microseconds (NaN when it is empty). */
  static double ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
  }

  Map<String, Object> toJson() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("name", name);
    json.put("seconds", Report.round(nanos / 1e9));
    json.put("completed", completed);
    json.put("errors", errors);
    json.put("error_samples", errorSamples);
    json.put("per_second", Report.round(perSecond()));
    json.put("per_second_by_window", windowRates.stream().map(Report::round).toList());
    json.put("first_ms", percentiles(first));
    json.put("total_ms", percentiles(total));
    Map<String, Object> cpu = new LinkedHashMap<>();
    cpuNanos.keySet().forEach(p -> {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("ms_per_request", Report.round(cpuMsPerRequest(p)));
      one.put("cores", Report.round(cores(p)));
      cpu.put(p, one);
    });
    json.put("cpu", cpu);
    json.put("machine_busy", Report.round(machineBusy()));
    return json;
  }

  /** The usual percentiles in milliseconds, for the JSON. */
  static Map<String, Object> percentiles(Histogram h) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("count", h.getTotalCount());
    p.put("p50", Report.round(ms(h, 50)));
    p.put("p90", Report.round(ms(h, 90)));
    p.put("p95", Report.round(ms(h, 95)));
    p.put("p99", Report.round(ms(h, 99)));
    p.put("max", Report.round(h.getTotalCount() == 0 ? Double.NaN : h.getMaxValue() / 1000.0));
    return p;
  }
}
