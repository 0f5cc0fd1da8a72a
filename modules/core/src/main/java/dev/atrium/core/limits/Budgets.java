package dev.atrium.core.limits;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What the gateway asks before every model call that a cap may stop: may this call hold
 * {@code estimate} of the budgets of its scopes (the tenant, its account, its key; per day
 * and per month; tokens and spend; and the installation's cap)? A grant holds the estimate
 * until the call settles with what it really used, or is released, or expires. The
 * {@code limits} module answers with one cluster-sharded {@code Budget} entity per tenant
 * (and one for the installation); tests of other modules run {@link #NONE}. Nothing else
 * in the gateway knows how budgets are kept.
 */
public interface Budgets {

  /** Whether any cap applies to the calls of this tenant (its own, or the installation's): if not, nothing is asked. */
  boolean applies(String tenantId);

  /** The completion allowance of a call of this tenant that asked for none (its budgets' {@code default_max_tokens}). */
  int defaultAllowance(String tenantId);

  /** Whether a cap on spend applies to this tenant's calls: then every model it routes to has a price. */
  boolean capsSpend(String tenantId);

  /**
   * As {@link #capsSpend(String)} for a tenant's settings that may not be in force yet (a
   * reload checks its candidate set with this before it is applied).
   */
  default boolean capsSpend(dev.atrium.core.tenant.TenantConfig tenant) {
    return capsSpend(tenant.id());
  }

  /**
   * Holds {@code estimate} in every scope of {@code scopes} that has a cap, all or nothing:
   * {@link Granted} with a reservation, or {@link Denied} naming the first scope, period and
   * measure that would pass its hard limit. One ask of the tenant's entity, at most one more
   * of the installation's. A failed stage: a budget did not answer in time.
   */
  CompletionStage<Reservation> reserve(Scopes scopes, Estimate estimate);

  /** The call ended having used {@code actual}: it is added to the settled totals, the hold is dropped. Fire and forget. */
  void settle(Granted reservation, Actual actual);

  /** The call will not be made (or was refused elsewhere): the hold is dropped, nothing is settled. Fire and forget. */
  void release(Granted reservation);

  /** A call that held nothing (an embedding, a call made while budgets could not answer) used {@code actual}. */
  void charge(Scopes scopes, Actual actual);

  /** Whose budgets a call draws on: the tenant, and the account and key when the caller has them. */
  record Scopes(String tenantId, String accountId, String keyId) {}

  /**
   * What a call may use at most: its prompt's tokens plus its completion allowance, and
   * what that would cost on the dearest step of its route, in micro-USD.
   * {@code spendOptional}: the call is paid by the caller's own key, so spend caps do not
   * stop it; the spend is held only if the caps have room (for a fallback to the tenant's
   * own provider) and {@link Granted#spendHeld} says whether it was.
   */
  record Estimate(long tokens, long microUsd, boolean spendOptional) {}

  /** What a call used: tokens in and out, and what the tenant pays for it (0 when the caller's key paid). */
  record Actual(long tokens, long microUsd, Instant at) {}

  /** A budget's answer to {@link #reserve}. */
  sealed interface Reservation permits Granted, Denied {}

  /**
   * The estimate is held under {@code id} in the tenant's budget ({@code tenantHeld}) and the
   * installation's ({@code installationHeld}), whichever has caps. {@code spendHeld}: the
   * estimate's spend is held too (always, unless it was {@link Estimate#spendOptional}).
   */
  record Granted(String id, Scopes scopes, Estimate estimate, boolean tenantHeld, boolean installationHeld,
      boolean spendHeld) implements Reservation {}

  /**
   * Refused: in {@code scope} ({@code tenant}, {@code account:<id>}, {@code key:<id>},
   * {@code installation}) the {@code period} ({@code day}, {@code month}) of {@code measure}
   * ({@code tokens}, {@code spend}) would pass {@code limit} (the cap times its hard-limit
   * ratio); the period resets at {@code resetsAt}.
   */
  record Denied(String scope, String period, String measure, long cap, double hardLimitRatio, long used,
      Instant resetsAt) implements Reservation {}

  /** No caps anywhere: nothing is asked, every call goes. */
  Budgets NONE = new Budgets() {
    @Override
    public boolean applies(String tenantId) {
      return false;
    }

    @Override
    public int defaultAllowance(String tenantId) {
      return 0;
    }

    @Override
    public boolean capsSpend(String tenantId) {
      return false;
    }

    @Override
    public CompletionStage<Reservation> reserve(Scopes scopes, Estimate estimate) {
      return CompletableFuture.completedFuture(new Granted("", scopes, estimate, false, false, true));
    }

    @Override
    public void settle(Granted reservation, Actual actual) {}

    @Override
    public void release(Granted reservation) {}

    @Override
    public void charge(Scopes scopes, Actual actual) {}
  };
}
