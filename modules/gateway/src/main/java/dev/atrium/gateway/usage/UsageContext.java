package dev.atrium.gateway.usage;

import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.Tier;

/**
 * Whom and what a model call is metered for: the tenant, account, user and key, the HTTP
 * request (or the run and step that made the call later), the session, the route class, the
 * tier, and whether a bring-your-own key paid for it. Built once per request or sub-step.
 */
public record UsageContext(String tenantId, String accountId, String userId, String keyId, String requestId,
    String runId, String step, String sessionId, String routeClass, String tier, boolean byo) {

  /** A request's call: the caller from its principal, the request id from the edge. */
  public static UsageContext request(Principal principal, String requestId, RouteClass routeClass) {
    return new UsageContext(principal.tenantId(), principal.accountId().orElse(null), principal.userId().orElse(null),
        principal.keyId().orElse(null), requestId, null, null, null, routeClass.wireName(), principal.tier().name(), false);
  }

  /** A call a run makes, long after the request that created it: its owner (user or key), run id and step. */
  public static UsageContext run(String tenantId, String accountId, String userId, String keyId, Tier tier,
      String runId, String step) {
    return new UsageContext(tenantId, accountId, userId, keyId, null, runId, step, null, RouteClass.RUNS.wireName(),
        tier == null ? null : tier.name(), false);
  }

  /** The same call, made as a turn of a stored session. */
  public UsageContext withSession(String session) {
    return new UsageContext(tenantId, accountId, userId, keyId, requestId, runId, step, session, routeClass, tier, byo);
  }

  /** The same call, paid (or not) by the caller's own provider key. */
  public UsageContext withByo(boolean paidByCaller) {
    return new UsageContext(tenantId, accountId, userId, keyId, requestId, runId, step, sessionId, routeClass, tier,
        paidByCaller);
  }
}
