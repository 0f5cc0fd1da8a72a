package dev.atrium.rag;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Retrieval fails closed: no tenant is an error, never a search of every tenant. */
class RetrieverTenantTest {
  @Test
  void aMissingTenantIsRefused() {
    assertThatThrownBy(() -> Retriever.requireTenant(null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tenant");
    assertThatThrownBy(() -> Retriever.requireTenant(" ")).isInstanceOf(IllegalArgumentException.class);
    assertThat(Retriever.requireTenant("acme")).isEqualTo("acme");
  }
}
