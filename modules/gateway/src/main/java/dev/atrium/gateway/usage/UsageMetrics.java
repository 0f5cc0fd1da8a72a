package dev.atrium.gateway.usage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The usage recorder's Prometheus series. Labels are bounded: tenants come from tenant
 * files, models are the tenants' configured model names (prices: the configured upstream
 * models). Updated by the recorder's writer stream, never on the request path.
 */
final class UsageMetrics {
  private final MeterRegistry registry;
  private final Counter dropped;
  private final Counter writeFailures;

  UsageMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.dropped = Counter.builder("atrium.usage.dropped")
        .description("Usage rows dropped because the recorder's queue was full").register(registry);
    this.writeFailures = Counter.builder("atrium.usage.write.failures")
        .description("Batch inserts into usage_events that failed and are retried").register(registry);
  }

  void dropped() {
    dropped.increment();
  }

  void writeFailed() {
    writeFailures.increment();
  }

  /** A record on its way to the table, with its cost filled in. */
  void recorded(UsageRecord r) {
    String tenant = r.context().tenantId();
    tokens(tenant, r.model(), "in", r.tokensIn());
    tokens(tenant, r.model(), "out", r.tokensOut());
    tokens(tenant, r.model(), "cached_in", r.cachedTokensIn());
    if (r.costMicroUsd() != null) {
      Counter.builder("atrium.usage.cost.micro.usd").description("Cost of model calls in micro-USD, from the price table")
          .tags("tenant", tenant, "model", r.model()).register(registry).increment(r.costMicroUsd());
    } else {
      Counter.builder("atrium.usage.unpriced").description("Model calls metered without a price (cost null)")
          .tags("upstream_model", r.upstreamModel()).register(registry).increment();
    }
    if (r.operation().equals(UsageRecord.CHAT)) {
      String kind = r.context().sessionId() == null ? "atrium.stateless.requests" : "atrium.persistent.requests";
      Counter.builder(kind).description("Chat calls without a session (the OpenAI door) or as a session's turn")
          .tags("tenant", tenant).register(registry).increment();
      Counter.builder("atrium.byo.requests").description("Chat calls paid by a bring-your-own key")
          .tags("tenant", tenant).register(registry).increment(r.context().byo() ? 1 : 0);
    }
  }

  private void tokens(String tenant, String model, String kind, int n) {
    Counter.builder("atrium.usage.tokens").description("Tokens of model calls, by tenant, model and kind")
        .tags("tenant", tenant, "model", model, "kind", kind).register(registry).increment(n);
  }
}
