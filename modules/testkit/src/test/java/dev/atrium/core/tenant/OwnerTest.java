package dev.atrium.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.Accounts;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.PrincipalView;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Owners of what a principal creates, callers that see owned resources, and the principal as the API shows it. */
class OwnerTest {
  static final Principal KEY = new Principal(Principal.Kind.KEY, "acme", Tier.PAID, Optional.of("k_1"),
      Optional.empty(), Optional.of("acct_1"), "10.0.0.1");
  static final Principal PHONE = new Principal(Principal.Kind.USER, "acme", Tier.PAID, Optional.empty(),
      Optional.of("u_1"), Optional.of("acct_1"), "10.0.0.2");
  static final Principal LAPTOP = new Principal(Principal.Kind.USER, "acme", Tier.PAID, Optional.empty(),
      Optional.of("u_1"), Optional.empty(), "10.0.0.3");
  static final Principal ANONYMOUS = new Principal(Principal.Kind.ANONYMOUS, "acme", Tier.FREE, Optional.empty(),
      Optional.empty(), Optional.empty(), "10.0.0.4");

  @Test
  void aUserOwnsWhatItCreatesElseTheKeyAndAnAnonymousCallerNothing() {
    assertThat(Owner.of(PHONE)).contains(Owner.user("u_1"));
    assertThat(Owner.of(LAPTOP)).isEqualTo(Owner.of(PHONE));
    assertThat(Owner.of(KEY)).contains(Owner.key("k_1"));
    assertThat(Owner.of(ANONYMOUS)).isEmpty();
    assertThat(Caller.of(ANONYMOUS)).isEmpty();
    assertThat(Owner.key("u_1")).isNotEqualTo(Owner.user("u_1"));
  }

  @Test
  void aCallerSeesItsOwnersResourcesOfItsTenantAndOnlyAnAdminMadeSoSeesEveryOwners() {
    Caller laptop = Caller.of(LAPTOP).orElseThrow();
    assertThat(laptop.sees("acme", Owner.user("u_1"))).isTrue();
    assertThat(laptop.sees("acme", Owner.user("u_2"))).isFalse();
    assertThat(laptop.sees("acme", Owner.key("u_1"))).isFalse();
    assertThat(laptop.sees("other", Owner.user("u_1"))).isFalse();
    Caller admin = Caller.admin("acme");
    assertThat(admin.sees("acme", Owner.user("u_2"))).isTrue();
    assertThat(admin.sees("acme", null)).isTrue();
    assertThat(admin.sees("other", Owner.user("u_2"))).isFalse();
    assertThat(laptop.admin()).isFalse();
    assertThatThrownBy(() -> new Caller("acme", null, false)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Caller("acme", Owner.key("k_1"), true)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void anOwnerIsWrittenAsItsKindAndIdAndReadBack() throws Exception {
    JsonNode json = Json.MAPPER.valueToTree(Owner.user("u_1"));
    assertThat(json.toString()).isEqualTo("{\"kind\":\"user\",\"id\":\"u_1\"}");
    assertThat(Json.MAPPER.treeToValue(json, Owner.class)).isEqualTo(Owner.user("u_1"));
    assertThat(Json.MAPPER.readValue("{\"kind\":\"key\",\"id\":\"k_1\"}", Owner.class)).isEqualTo(Owner.key("k_1"));
    assertThatThrownBy(() -> Json.MAPPER.readValue("{\"kind\":\"admin\",\"id\":\"x\"}", Owner.class))
        .hasMessageContaining("admin");
  }

  @Test
  void thePrincipalViewNamesKindUserKeyAccountAndTier() {
    assertThat(PrincipalView.of(PHONE)).isEqualTo(new PrincipalView("user", "acme", "u_1", null, "acct_1", Tier.PAID));
    assertThat(PrincipalView.of(KEY)).isEqualTo(new PrincipalView("key", "acme", null, "k_1", "acct_1", Tier.PAID));
    JsonNode anonymous = Json.MAPPER.valueToTree(PrincipalView.of(ANONYMOUS));
    assertThat(anonymous.toString()).isEqualTo(
        "{\"kind\":\"anonymous\",\"tenant_id\":\"acme\",\"user_id\":null,\"key_id\":null,\"account_id\":null,"
            + "\"tier\":\"FREE\"}");
  }

  @Test
  void anAccountRouteNeedsAPrincipalThatActsForAnAccount() {
    assertThat(Accounts.required(PHONE)).isEqualTo("acct_1");
    assertThat(Accounts.required(KEY)).isEqualTo("acct_1");
    for (Principal without : new Principal[] {LAPTOP, ANONYMOUS}) {
      assertThatThrownBy(() -> Accounts.required(without)).isInstanceOfSatisfying(ApiError.class, e -> {
        assertThat(e.status().intValue()).isEqualTo(403);
        assertThat(e.code()).isEqualTo("account_required");
      });
    }
  }
}
