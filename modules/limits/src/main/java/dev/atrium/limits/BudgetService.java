package dev.atrium.limits;

import com.typesafe.config.Config;
import dev.atrium.core.limits.Budgets;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * The budgets of the gateway: one {@link Budget} entity per tenant holding every scope of
 * it (the tenant, each account, each key), one more for the installation's caps
 * ({@code atrium.budgets.installation}) when there are any. A reservation is one ask of the
 * tenant's entity and, with installation caps, one of the installation's, made at once; it
 * is granted only if both grant (the one that granted alone is released). Settling and
 * releasing are tells.
 */
public final class BudgetService implements Budgets {
  private final ClusterSharding sharding;
  private final TenantRegistry tenants;
  private final Duration askTimeout;
  private final Duration expiry;
  private final Optional<TenantConfig.Caps> installation;
  private final double installationRatio;
  private final List<BudgetBook.ScopeCaps> installationScopes;
  private final String idPrefix = UUID.randomUUID().toString().substring(0, 8) + "-";
  private final AtomicLong ids = new AtomicLong();
  /** Each tenant's budgets worked out once per tenant config (a reloaded file gets a new plan). */
  private final Map<String, Plan> plans = new ConcurrentHashMap<>();

  /**
   * What a tenant's calls hold and settle into, by caller: its caps and scope names are
   * worked out once per key (a key's account is fixed by the tenant file) and reused.
   */
  private static final class Plan {
    final TenantConfig config;
    final boolean any;
    final boolean capsSpend;
    final Map<String, List<BudgetBook.ScopeCaps>> caps = new ConcurrentHashMap<>();
    final Map<String, List<String>> names = new ConcurrentHashMap<>();

    Plan(TenantConfig config) {
      this.config = config;
      this.any = config.budgets().any();
      this.capsSpend = config.budgets().capsSpend();
    }

    /** The cache key of a caller: its key (which fixes its account), else its account, else the tenant. */
    static String caller(Scopes scopes) {
      return scopes.keyId() != null ? "k" + scopes.keyId() : scopes.accountId() != null ? "a" + scopes.accountId() : "";
    }

    List<BudgetBook.ScopeCaps> caps(Scopes scopes) {
      return caps.computeIfAbsent(caller(scopes), c -> List.copyOf(scopesWithCaps(config.budgets(), scopes)));
    }

    List<String> names(Scopes scopes) {
      return names.computeIfAbsent(caller(scopes), c -> List.copyOf(scopeNames(scopes)));
    }
  }

  private Plan plan(String tenantId) {
    TenantConfig tenant = tenant(tenantId);
    Plan plan = plans.get(tenantId);
    if (plan == null || plan.config != tenant) {
      plan = new Plan(tenant);
      plans.put(tenantId, plan);
    }
    return plan;
  }

  BudgetService(ActorSystem<?> system, TenantRegistry tenants) {
    this.sharding = ClusterSharding.get(system);
    this.tenants = tenants;
    Config config = system.settings().config();
    this.askTimeout = config.getDuration("atrium.limits.ask-timeout");
    this.expiry = config.getDuration("atrium.budgets.reservation-expiry");
    this.installation = installationCaps(config.getConfig("atrium.budgets.installation"));
    this.installationRatio = config.getDouble("atrium.budgets.installation.hard-limit-ratio");
    this.installationScopes = installationScope().map(List::of).orElse(List.of());
  }

  /** The installation's caps from the server config; none when every cap is left out. */
  static Optional<TenantConfig.Caps> installationCaps(Config c) {
    TenantConfig.Caps caps = new TenantConfig.Caps(
        c.hasPath("daily-tokens") ? c.getLong("daily-tokens") : null,
        c.hasPath("monthly-tokens") ? c.getLong("monthly-tokens") : null,
        c.hasPath("daily-spend-usd") ? c.getDouble("daily-spend-usd") : null,
        c.hasPath("monthly-spend-usd") ? c.getDouble("monthly-spend-usd") : null,
        null);
    return caps.any() ? Optional.of(caps) : Optional.empty();
  }

  /** The installation's caps, if any (the admin view shows them). */
  Optional<BudgetBook.ScopeCaps> installationScope() {
    return installation.map(c -> scopeCaps(Budget.INSTALLATION_SCOPE, c, installationRatio));
  }

  private TenantConfig tenant(String tenantId) {
    return tenants.byId(tenantId).orElseThrow();
  }

  @Override
  public boolean applies(String tenantId) {
    return installation.isPresent() || plan(tenantId).any;
  }

  @Override
  public int defaultAllowance(String tenantId) {
    return tenant(tenantId).budgets().defaultMaxTokens();
  }

  @Override
  public boolean capsSpend(String tenantId) {
    return installation.map(TenantConfig.Caps::capsSpend).orElse(false) || plan(tenantId).capsSpend;
  }

  @Override
  public boolean capsSpend(TenantConfig tenant) {
    return installation.map(TenantConfig.Caps::capsSpend).orElse(false) || tenant.budgets().capsSpend();
  }

  /** The scopes of a caller that have caps in the tenant's budgets, each with its caps. */
  static List<BudgetBook.ScopeCaps> scopesWithCaps(TenantConfig.BudgetSettings budgets, Scopes scopes) {
    List<BudgetBook.ScopeCaps> out = new ArrayList<>(3);
    double ratio = budgets.hardLimitRatio();
    budgets.forTenant().ifPresent(c -> out.add(scopeCaps(Budget.TENANT_SCOPE, c, ratio)));
    if (scopes.accountId() != null) {
      budgets.forAccount(scopes.accountId()).ifPresent(c -> out.add(scopeCaps("account:" + scopes.accountId(), c, ratio)));
    }
    if (scopes.keyId() != null) {
      budgets.forKey(scopes.keyId()).ifPresent(c -> out.add(scopeCaps("key:" + scopes.keyId(), c, ratio)));
    }
    return out;
  }

  static BudgetBook.ScopeCaps scopeCaps(String scope, TenantConfig.Caps c, double defaultRatio) {
    return new BudgetBook.ScopeCaps(scope, c.dailyTokens(), c.monthlyTokens(), micros(c.dailySpendUsd()),
        micros(c.monthlySpendUsd()), c.hardLimitRatio() != null ? c.hardLimitRatio() : defaultRatio);
  }

  private static Long micros(Double usd) {
    return usd == null ? null : Math.round(usd * 1_000_000);
  }

  /** The names of every scope a call of {@code scopes} settles into in the tenant's budget. */
  static List<String> scopeNames(Scopes scopes) {
    if (scopes.accountId() == null && scopes.keyId() == null) {
      return List.of(Budget.TENANT_SCOPE);
    }
    List<String> names = new ArrayList<>(3);
    names.add(Budget.TENANT_SCOPE);
    if (scopes.accountId() != null) {
      names.add("account:" + scopes.accountId());
    }
    if (scopes.keyId() != null) {
      names.add("key:" + scopes.keyId());
    }
    return names;
  }

  private static final List<String> INSTALLATION_SCOPES = List.of(Budget.INSTALLATION_SCOPE);

  private EntityRef<Budget.Command> budget(String budgetId) {
    return sharding.entityRefFor(Budget.ENTITY_KEY, budgetId);
  }

  @Override
  public CompletionStage<Reservation> reserve(Scopes scopes, Estimate estimate) {
    Plan plan = plan(scopes.tenantId());
    List<BudgetBook.ScopeCaps> own = plan.caps(scopes);
    String id = idPrefix + ids.incrementAndGet();
    CompletionStage<Budget.Verdict> mine = own.isEmpty() ? null : ask(scopes.tenantId(), id, own, estimate);
    CompletionStage<Budget.Verdict> theirs = installation.isEmpty() ? null
        : ask(Budget.INSTALLATION, id, installationScopes, estimate);
    if (mine == null && theirs == null) {
      return CompletableFuture.completedFuture(new Granted(id, scopes, estimate, false, false, true));
    }
    if (theirs == null) {
      return mine.thenApply(v -> reservation(id, scopes, estimate, v, null));
    }
    if (mine == null) {
      return theirs.thenApply(v -> reservation(id, scopes, estimate, null, v));
    }
    return mine.thenCombine(theirs, (a, b) -> reservation(id, scopes, estimate, a, b));
  }

  private CompletionStage<Budget.Verdict> ask(String budgetId, String id, List<BudgetBook.ScopeCaps> caps,
      Estimate estimate) {
    return budget(budgetId).ask(r -> new Budget.Reserve(budgetId, id, caps, estimate.tokens(), estimate.microUsd(),
        estimate.spendOptional(), expiry, r), askTimeout);
  }

  private Reservation reservation(String id, Scopes scopes, Estimate estimate, Budget.Verdict mine,
      Budget.Verdict theirs) {
    Budget.Verdict refusal = mine != null && !mine.granted() ? mine : theirs != null && !theirs.granted() ? theirs : null;
    if (refusal != null) {
      if (mine != null && mine.granted()) {
        budget(scopes.tenantId()).tell(new Budget.Release(scopes.tenantId(), id));
      }
      if (theirs != null && theirs.granted()) {
        budget(Budget.INSTALLATION).tell(new Budget.Release(Budget.INSTALLATION, id));
      }
      return new Denied(refusal.scope(), refusal.period(), refusal.measure(), refusal.cap(), refusal.hardLimitRatio(),
          refusal.used(), refusal.resetsAt());
    }
    boolean spendHeld = (mine == null || mine.spendHeld()) && (theirs == null || theirs.spendHeld());
    return new Granted(id, scopes, estimate, mine != null, theirs != null, spendHeld);
  }

  @Override
  public void settle(Granted reservation, Actual actual) {
    record(reservation.scopes(), reservation.id(), actual);
  }

  @Override
  public void release(Granted reservation) {
    Scopes scopes = reservation.scopes();
    if (reservation.tenantHeld()) {
      budget(scopes.tenantId()).tell(new Budget.Release(scopes.tenantId(), reservation.id()));
    }
    if (reservation.installationHeld()) {
      budget(Budget.INSTALLATION).tell(new Budget.Release(Budget.INSTALLATION, reservation.id()));
    }
  }

  @Override
  public void charge(Scopes scopes, Actual actual) {
    record(scopes, null, actual);
  }

  /** Settles into the tenant's budget when it has caps and the installation's when there are any. */
  private void record(Scopes scopes, String id, Actual actual) {
    Plan plan = plan(scopes.tenantId());
    if (plan.any) {
      budget(scopes.tenantId()).tell(new Budget.Settle(scopes.tenantId(), id, plan.names(scopes), actual.tokens(),
          actual.microUsd(), actual.at()));
    }
    if (installation.isPresent()) {
      budget(Budget.INSTALLATION).tell(new Budget.Settle(Budget.INSTALLATION, id, INSTALLATION_SCOPES, actual.tokens(),
          actual.microUsd(), actual.at()));
    }
  }
}
