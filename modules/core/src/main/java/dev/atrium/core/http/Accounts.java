package dev.atrium.core.http;

import dev.atrium.core.tenant.Principal;

/**
 * Account resources (credits, an account's usage, later contexts, subjects, analyses) belong
 * to the account the principal acts for: the account of its API key, or the one its token
 * names. An account exists once a key or a token names it; there is no account table.
 */
public final class Accounts {
  private Accounts() {}

  /** The principal's account; 403 {@code account_required} when it acts for none. */
  public static String required(Principal principal) {
    return principal.accountId().orElseThrow(() -> ApiError.forbidden("account_required",
        "This is an account resource; the caller's key or token names no account."));
  }
}
