package dev.atrium.core.entity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.Backoff;
import dev.atrium.core.Futures;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** Tenant entity ids, backoff with jitter and future unwrapping: the one copy each of core. */
class SharedPiecesTest {

  @Test
  void aTenantEntityIdComposesAndSplitsAndRefusesColonsFromClients() {
    assertThat(TenantEntityId.of("acme", "s_1")).isEqualTo("acme:s_1");
    assertThat(TenantEntityId.parse("acme:s_1")).isEqualTo(new TenantEntityId("acme", "s_1"));
    // A structured id within the tenant keeps its own colons (a bucket's "chat/key:k_1").
    assertThat(TenantEntityId.parse("acme:chat/key:k_1").id()).isEqualTo("chat/key:k_1");
    assertThatThrownBy(() -> TenantEntityId.of("acme", "a:b")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TenantEntityId.of("ac:me", "b")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TenantEntityId.parse("no-colon")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TenantEntityId.parse("acme:")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void backoffDoublesWithJitterAndStopsAtItsCap() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofMillis(1000));
    for (int i = 0; i < 200; i++) {
      assertThat(backoff.delay(1).toMillis()).isBetween(50L, 150L);
      assertThat(backoff.delay(3).toMillis()).isBetween(200L, 600L);
      assertThat(backoff.delay(10).toMillis()).isEqualTo(1000L);
      assertThat(Backoff.around(Duration.ofSeconds(1), 0.25).toMillis()).isBetween(750L, 1250L);
    }
    assertThat(Backoff.NONE.delay(5)).isZero();
  }

  @Test
  void unwrapFindsTheCauseUnderCompletionAndExecutionExceptions() {
    IllegalStateException cause = new IllegalStateException("x");
    assertThat(Futures.unwrap(new CompletionException(new ExecutionException(cause)))).isSameAs(cause);
    assertThat(Futures.unwrap(cause)).isSameAs(cause);
    assertThat(Futures.rethrow(new CompletionException(cause))).isSameAs(cause);
    Exception checked = new Exception("checked");
    assertThat(Futures.rethrow(checked)).isInstanceOf(CompletionException.class).hasCause(checked);
  }
}
