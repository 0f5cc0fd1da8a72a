package dev.atrium.core.tenant;

import java.util.Locale;
import java.util.Optional;

/**
 * Who is calling: always a tenant and a tier, then what authenticated the request. An API
 * key (its id, tier and account), a user from a verified JWT (user id, tier and the account
 * the request acts for), or, for anonymous requests, only the client's address (always tier
 * FREE). The client address is carried for every kind.
 */
public record Principal(
    Kind kind, String tenantId, Tier tier, Optional<String> keyId, Optional<String> userId,
    Optional<String> accountId, String clientIp) {

  /** What authenticated the request. */
  public enum Kind {
    KEY, USER, ANONYMOUS;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public Principal {
    keyId = keyId == null ? Optional.empty() : keyId;
    userId = userId == null ? Optional.empty() : userId;
    accountId = accountId == null ? Optional.empty() : accountId;
    if (kind == Kind.KEY && keyId.isEmpty()) {
      throw new IllegalArgumentException("a key principal has a key id");
    }
    if (kind == Kind.USER && userId.isEmpty()) {
      throw new IllegalArgumentException("a user principal has a user id");
    }
  }

  public static Principal ofKey(TenantConfig tenant, TenantConfig.ApiKeyConfig key, String clientIp) {
    return new Principal(Kind.KEY, tenant.id(), key.tier(), Optional.of(key.id()), Optional.empty(),
        key.accountId(), clientIp);
  }

  /** A user whose JWT the tenant's issuer signed, acting for {@code accountId} when the token names one. */
  public static Principal ofUser(TenantConfig tenant, String userId, Tier tier, Optional<String> accountId,
      String clientIp) {
    return new Principal(Kind.USER, tenant.id(), tier, Optional.empty(), Optional.of(userId), accountId, clientIp);
  }

  public static Principal anonymous(TenantConfig tenant, String clientIp) {
    return new Principal(Kind.ANONYMOUS, tenant.id(), Tier.FREE, Optional.empty(), Optional.empty(),
        Optional.empty(), clientIp);
  }

  public boolean anonymous() {
    return kind == Kind.ANONYMOUS;
  }

  /** The principal part of rate-limit keys: {@code user:<id>}, {@code key:<key id>} or {@code ip:<address>}. */
  public String limitKey() {
    return switch (kind) {
      case USER -> "user:" + userId.orElseThrow();
      case KEY -> "key:" + keyId.orElseThrow();
      case ANONYMOUS -> "ip:" + clientIp;
    };
  }
}
