package dev.atrium.core.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.Tier;

/**
 * The caller's principal as {@code GET /v1/auth/verify} answers it and {@code GET /v1/tenant}
 * shows it: what authenticated the request ({@code key}, {@code user} or {@code anonymous}),
 * the tenant, the user and key (null when there is none), the account it acts for and the
 * tier. Never a secret: no key, no token.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record PrincipalView(String kind, String tenantId, String userId, String keyId, String accountId, Tier tier) {

  public static PrincipalView of(Principal principal) {
    return new PrincipalView(principal.kind().wireName(), principal.tenantId(), principal.userId().orElse(null),
        principal.keyId().orElse(null), principal.accountId().orElse(null), principal.tier());
  }
}
