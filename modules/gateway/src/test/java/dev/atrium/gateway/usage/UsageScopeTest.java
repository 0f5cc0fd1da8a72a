package dev.atrium.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.Tier;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Whose usage {@code GET /v1/usage} shows each kind of principal, and whom a user's calls are metered for. */
class UsageScopeTest {
  static Principal user(Optional<String> account) {
    return new Principal(Principal.Kind.USER, "acme", Tier.PAID, Optional.empty(), Optional.of("u_1"), account,
        "10.0.0.1");
  }

  static Principal key(Optional<String> account) {
    return new Principal(Principal.Kind.KEY, "acme", Tier.PAID, Optional.of("k_1"), Optional.empty(), account,
        "10.0.0.1");
  }

  @Test
  void aUserSeesItsAccountsUsageAndWithoutAnAccountNone() {
    assertThat(UsageRoutes.accountScope(user(Optional.of("acct_1")))).isEqualTo("acct_1");
    assertThatThrownBy(() -> UsageRoutes.accountScope(user(Optional.empty())))
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.code()).isEqualTo("account_required"));
  }

  @Test
  void aKeySeesItsAccountsUsageOrWithoutOneTheTenantsAndAnAnonymousCallerNone() {
    assertThat(UsageRoutes.accountScope(key(Optional.of("acct_1")))).isEqualTo("acct_1");
    assertThat(UsageRoutes.accountScope(key(Optional.empty()))).isNull();
    Principal anonymous = new Principal(Principal.Kind.ANONYMOUS, "acme", Tier.FREE, Optional.empty(),
        Optional.empty(), Optional.empty(), "10.0.0.1");
    assertThatThrownBy(() -> UsageRoutes.accountScope(anonymous))
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.code()).isEqualTo("usage_needs_key"));
  }

  @Test
  void aUsersCallIsMeteredForTheUserAndItsAccount() {
    UsageContext context = UsageContext.request(user(Optional.of("acct_1")), "req-1", RouteClass.CHAT);
    assertThat(context.userId()).isEqualTo("u_1");
    assertThat(context.keyId()).isNull();
    assertThat(context.accountId()).isEqualTo("acct_1");
    assertThat(context.tier()).isEqualTo("PAID");
  }
}
