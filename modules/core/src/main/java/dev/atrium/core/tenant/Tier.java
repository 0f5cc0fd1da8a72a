package dev.atrium.core.tenant;

/**
 * FREE requests are stateless (nothing persisted on their behalf); PAID requests are
 * persistent and scoped to their tenant, account and user. Anonymous requests are FREE.
 */
public enum Tier {
  FREE,
  PAID
}
