package dev.atrium.core.tenant;

import java.util.Optional;

/**
 * Who is calling: always a tenant, then either an API key (with its tier and account) or,
 * for anonymous requests, only the client's address (always tier FREE).
 */
public record Principal(
    String tenantId, Tier tier, Optional<String> keyId, Optional<String> accountId, String clientIp) {

  public static Principal ofKey(TenantConfig tenant, TenantConfig.ApiKeyConfig key, String clientIp) {
    return new Principal(tenant.id(), key.tier(), Optional.of(key.id()), key.accountId(), clientIp);
  }

  public static Principal anonymous(TenantConfig tenant, String clientIp) {
    return new Principal(tenant.id(), Tier.FREE, Optional.empty(), Optional.empty(), clientIp);
  }

  public boolean anonymous() {
    return keyId.isEmpty();
  }

  /** The principal part of rate-limit keys: {@code key:<key id>} or {@code ip:<address>}. */
  public String limitKey() {
    return keyId.map(id -> "key:" + id).orElseGet(() -> "ip:" + clientIp);
  }
}
