package dev.atrium.gateway.usage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The usage recorder's Prometheus series. Labels are bounded: tenants come from tenant
 * files, models are the tenants' configured model names (prices: the configured upstream
 * models). Updated by the recorder's writer stream, never on the request path; each series
 * is built once and then found in a map, so a row costs lookups, not registrations.
 */
final class UsageMetrics {
  private final MeterRegistry registry;
  private final Counter dropped;
  private final Counter writeFailures;
  private final Map<String, TenantSeries> tenants = new ConcurrentHashMap<>();
  private final Map<TenantModel, ModelSeries> models = new ConcurrentHashMap<>();
  private final Map<String, Counter> unpriced = new ConcurrentHashMap<>();

  /** The chat-call counters of a tenant. */
  private record TenantSeries(Counter stateless, Counter persistent, Counter byo) {}

  private record TenantModel(String tenant, String model) {}

  /** The token and cost counters of a tenant's model. */
  private record ModelSeries(Counter tokensIn, Counter tokensOut, Counter cachedIn, Counter cacheWriteIn, Counter cost) {}

  UsageMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.dropped = Counter.builder("atrium.usage.dropped")
        .description("Usage rows dropped because the recorder's queue was full").register(registry);
    this.writeFailures = Counter.builder("atrium.usage.write.failures")
        .description("Batch inserts into usage_events that failed and are retried").register(registry);
  }

  /** Registers a tenant's chat-call counters at 0, so they are scraped before its first call. */
  void tenant(String tenant) {
    tenants.computeIfAbsent(tenant, this::tenantSeries);
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
    ModelSeries series = models.computeIfAbsent(new TenantModel(tenant, r.model()), this::modelSeries);
    series.tokensIn().increment(r.tokensIn());
    series.tokensOut().increment(r.tokensOut());
    series.cachedIn().increment(r.cachedTokensIn());
    series.cacheWriteIn().increment(r.cacheWriteTokensIn());
    if (r.costMicroUsd() != null) {
      series.cost().increment(r.costMicroUsd());
    } else {
      unpriced.computeIfAbsent(r.upstreamModel(), upstream -> Counter.builder("atrium.usage.unpriced")
          .description("Model calls metered without a price (cost null)")
          .tags("upstream_model", upstream).register(registry)).increment();
    }
    if (r.operation().equals(UsageRecord.REPO_ANSWER) && "FREE".equals(r.context().tier())) {
      // A FREE repository question: answered in memory, the stateless path.
      tenants.computeIfAbsent(tenant, this::tenantSeries).stateless().increment();
    }
    if (r.operation().equals(UsageRecord.CHAT)) {
      TenantSeries calls = tenants.computeIfAbsent(tenant, this::tenantSeries);
      calls.persistent().increment();
      if (r.context().byo()) {
        calls.byo().increment();
      }
    }
  }

  private TenantSeries tenantSeries(String tenant) {
    return new TenantSeries(
        Counter.builder("atrium.stateless.requests").description("FREE repository questions answered in memory (the stateless path)")
            .tags("tenant", tenant).register(registry),
        Counter.builder("atrium.persistent.requests").description("Chat calls (native turns and the OpenAI door)")
            .tags("tenant", tenant).register(registry),
        Counter.builder("atrium.byo.requests").description("Chat calls paid by a bring-your-own key")
            .tags("tenant", tenant).register(registry));
  }

  private ModelSeries modelSeries(TenantModel key) {
    return new ModelSeries(tokens(key, "in"), tokens(key, "out"), tokens(key, "cached_in"), tokens(key, "cache_write_in"),
        Counter.builder("atrium.usage.cost.micro.usd")
            .description("Cost of model calls in micro-USD, from the price table")
            .tags("tenant", key.tenant(), "model", key.model()).register(registry));
  }

  private Counter tokens(TenantModel key, String kind) {
    return Counter.builder("atrium.usage.tokens").description("Tokens of model calls, by tenant, model and kind")
        .tags("tenant", key.tenant(), "model", key.model(), "kind", kind).register(registry);
  }
}
