package dev.atrium.limits;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code atrium_budget_used_ratio{tenant, period, measure}}: what the tenant as a whole has
 * settled and holds, over its cap (1.0 = the cap; refusals start at the hard-limit ratio),
 * per period and measure with a cap. Only the tenant scope (and the installation's, as
 * tenant {@code _installation}) is a series: accounts and keys are seen in the admin view,
 * never as labels. A node reports the budgets whose entity it hosts, updated once a second;
 * a budget that moves away takes its series with it.
 */
final class BudgetGauges {
  private record Series(String budgetId, String period, String measure) {}

  private final MeterRegistry registry;
  /** The ratio in millionths, read by the gauge. */
  private final Map<Series, AtomicLong> values = new ConcurrentHashMap<>();
  private final Map<Series, Gauge> gauges = new ConcurrentHashMap<>();

  BudgetGauges(MeterRegistry registry) {
    this.registry = registry;
  }

  void update(String budgetId, BudgetBook book, Map<String, BudgetBook.ScopeCaps> caps, Instant now) {
    String scope = Budget.INSTALLATION.equals(budgetId) ? Budget.INSTALLATION_SCOPE : Budget.TENANT_SCOPE;
    BudgetBook.ScopeCaps c = caps.get(scope);
    if (c == null) {
      return;
    }
    for (BudgetPeriod period : BudgetPeriod.values()) {
      BudgetBook.Line line = book.line(scope, period, now);
      long tokens = line == null ? 0 : line.settledTokens + line.heldTokens;
      long micros = line == null ? 0 : line.settledMicroUsd + line.heldMicroUsd;
      set(budgetId, period, "tokens", c.tokens(period), tokens);
      set(budgetId, period, "spend", c.microUsd(period), micros);
    }
  }

  private void set(String budgetId, BudgetPeriod period, String measure, Long cap, long used) {
    if (cap == null || cap <= 0) {
      return;
    }
    Series series = new Series(budgetId, period.wireName(), measure);
    AtomicLong value = values.computeIfAbsent(series, s -> {
      AtomicLong v = new AtomicLong();
      gauges.put(s, Gauge.builder("atrium.budget.used.ratio", v, x -> x.get() / 1e6)
          .description("What a tenant's budget has settled and holds, over its cap")
          .tag("tenant", s.budgetId()).tag("period", s.period()).tag("measure", s.measure())
          .register(registry));
      return v;
    });
    value.set(Math.round(used * 1e6 / cap));
  }

  /** The budget left this node: its series go. */
  void remove(String budgetId) {
    gauges.keySet().removeIf(series -> {
      if (!series.budgetId().equals(budgetId)) {
        return false;
      }
      registry.remove(gauges.get(series));
      values.remove(series);
      return true;
    });
  }
}
