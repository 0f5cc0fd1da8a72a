package dev.atrium.core.tenant;

import dev.atrium.core.JsonSerializable;
import java.util.Objects;
import java.util.Optional;

/**
 * Who asks for an owned resource: the tenant always, then either one owner (who sees only
 * what it owns) or, explicitly, the tenant's admin (who sees every owner's). There is no
 * third way: a caller without an owner is an admin only when made with {@link #admin}, so
 * a principal that owns nothing (an anonymous one) can never pass for an admin.
 */
public record Caller(String tenantId, Owner owner, boolean admin) implements JsonSerializable {

  public Caller {
    Objects.requireNonNull(tenantId, "tenantId");
    if (admin != (owner == null)) {
      throw new IllegalArgumentException(admin ? "an admin caller has no owner" : "a caller has an owner or is an admin");
    }
  }

  /** The tenant's admin (admin routes, behind the admin token): sees every owner's resources. */
  public static Caller admin(String tenantId) {
    return new Caller(tenantId, null, true);
  }

  public static Caller of(String tenantId, Owner owner) {
    return new Caller(tenantId, Objects.requireNonNull(owner, "owner"), false);
  }

  /** The principal as the owner of what it creates; empty for an anonymous principal. */
  public static Optional<Caller> of(Principal principal) {
    return Owner.of(principal).map(owner -> of(principal.tenantId(), owner));
  }

  /** Whether this caller may see a resource of {@code resourceTenant} owned by {@code resourceOwner}. */
  public boolean sees(String resourceTenant, Owner resourceOwner) {
    return tenantId.equals(resourceTenant) && (admin || owner.equals(resourceOwner));
  }
}
