package dev.atrium.runs;

import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.core.tenant.Tier;
import dev.atrium.gateway.usage.UsageContext;

/**
 * Whom a run's model calls are metered for: the run's owner (its user or key) with the
 * account and tier recorded when the run was created, the run and the sub-step. A run from
 * before that record has a key owner: its key's account and tier are looked up.
 */
public final class RunUsage {
  private RunUsage() {}

  /** The context of a call made by {@code context}'s sub-step, its step named {@code "<step>/<key>"} ("answer/3", "embed/0"). */
  public static UsageContext of(TenantRegistry tenants, Step.Context context) {
    Owner owner = context.owner();
    String userId = owner != null && owner.kind() == Owner.Kind.USER ? owner.id() : null;
    String keyId = owner != null && owner.kind() == Owner.Kind.KEY ? owner.id() : null;
    String accountId = context.accountId();
    Tier tier = context.tier();
    if (tier == null && keyId != null) {
      var key = tenants.byId(context.tenantId()).flatMap(t -> t.apiKeys().stream()
          .filter(k -> k.id().equals(keyId)).findFirst());
      accountId = key.flatMap(k -> k.accountId()).orElse(null);
      tier = key.map(k -> k.tier()).orElse(null);
    }
    return UsageContext.run(context.tenantId(), accountId, userId, keyId, tier, context.runId(),
        context.step() + "/" + context.key());
  }
}
