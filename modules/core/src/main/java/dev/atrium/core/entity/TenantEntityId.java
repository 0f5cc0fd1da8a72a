package dev.atrium.core.entity;

/**
 * The id of a tenant-keyed entity, {@code tenantId:id}: built server-side from the
 * authenticated tenant, split by the entity when it starts. Neither part ever contains
 * {@code ':'} (a client's id with one is refused before any entity is asked).
 */
public record TenantEntityId(String tenantId, String id) {

  public TenantEntityId {
    if (tenantId == null || tenantId.isEmpty() || tenantId.indexOf(':') >= 0) {
      throw new IllegalArgumentException("a tenant id is non-empty and never contains ':'");
    }
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException("an entity id within a tenant is non-empty");
    }
  }

  /** The entity id for {@code id} of {@code tenantId}; {@code id} must not contain ':' either. */
  public static String of(String tenantId, String id) {
    if (id != null && id.indexOf(':') >= 0) {
      throw new IllegalArgumentException("ids never contain ':'");
    }
    return new TenantEntityId(tenantId, id).toString();
  }

  /**
   * Splits an entity id at its first ':'. The part after it may hold ':' for entities whose
   * own ids are structured (a bucket's {@code routeClass/principal} key, for one).
   */
  public static TenantEntityId parse(String entityId) {
    int colon = entityId.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("not a tenant entity id: " + entityId);
    }
    return new TenantEntityId(entityId.substring(0, colon), entityId.substring(colon + 1));
  }

  @Override
  public String toString() {
    return tenantId + ":" + id;
  }
}
