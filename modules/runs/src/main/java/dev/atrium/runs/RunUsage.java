package dev.atrium.runs;

import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.usage.UsageContext;

/** Whom a run's model calls are metered for: the run's owner (its key's account and tier), the run and the sub-step. */
public final class RunUsage {
  private RunUsage() {}

  /** The context of a call made by {@code context}'s sub-step, its step named {@code "<step>/<key>"} ("answer/3", "embed/0"). */
  public static UsageContext of(TenantRegistry tenants, Step.Context context) {
    var key = tenants.byId(context.tenantId()).flatMap(t -> t.apiKeys().stream()
        .filter(k -> k.id().equals(context.ownerKeyId())).findFirst());
    return UsageContext.run(context.tenantId(), key.flatMap(k -> k.accountId()).orElse(null), context.ownerKeyId(),
        key.map(k -> k.tier()).orElse(null), context.runId(), context.step() + "/" + context.key());
  }
}
