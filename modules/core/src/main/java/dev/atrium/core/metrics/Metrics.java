package dev.atrium.core.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The node's metrics, served in Prometheus text format on the admin port. Tenants and
 * route classes are labels: both are bounded (tenants come from files, classes are an enum).
 */
public final class Metrics implements AutoCloseable {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();

  public Metrics() {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gc.bindTo(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  public String scrape() {
    return registry.scrape();
  }

  /**
   * {@code atrium_info{mode="prod",version="0.1.0"} 1}: which mode and version this node
   * runs, to join onto other series or to alert on a node in the wrong mode.
   */
  public void nodeInfo(String mode, String version) {
    Gauge.builder("atrium.info", () -> 1)
        .description("The node's mode and version (always 1)")
        .tags("mode", mode, "version", version)
        .register(registry);
  }

  /** One finished HTTP request (latency up to the response head; streams run on after it). */
  public void httpRequest(String port, String routeClass, int status, String tenant, long nanos) {
    String statusText = Integer.toString(status);
    Counter.builder("atrium.http.requests")
        .description("HTTP requests by port, route class, status and tenant")
        .tags("port", port, "route_class", routeClass, "status", statusText, "tenant", tenant)
        .register(registry)
        .increment();
    Timer.builder("atrium.http.request.duration")
        .description("Time to the response head")
        .tags("port", port, "route_class", routeClass, "status", statusText, "tenant", tenant)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
