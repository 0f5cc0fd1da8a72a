package dev.atrium.server;

import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Tenant files for chat tests: "alpha" routes model "mock" to a mock upstream, "beta" is another tenant. */
final class ChatTestTenants {
  static final String ALPHA_KEY = "alpha-key-" + java.util.UUID.randomUUID();
  static final String BETA_KEY = "beta-key-" + java.util.UUID.randomUUID();

  private ChatTestTenants() {}

  static TenantRegistry write(Path dir, String mockBaseUrl) {
    try {
      Files.writeString(dir.resolve("alpha.json"), """
          {"id": "alpha", "display_name": "Alpha",
           "api_keys": [{"id": "k_alpha", "sha256": "%s", "tier": "PAID", "account": "a1"},
                        {"id": "k_alpha2", "sha256": "%s", "tier": "PAID"}],
           "models": {"default_model": "mock",
                      "models": {"mock": {"provider": "up", "upstream_model": "mock-model"},
                                 "local": {"provider": "local"}},
                      "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 1},
                                    "local": {"type": "local"}}},
           "limits": {"max_prompt_chars": 2000},
           "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}},
           "stream_slots": {"per_client": 50, "per_tenant": 100},
           "sessions": {"max_history_messages": 50}}
          """.formatted(ApiKeys.sha256(ALPHA_KEY), ApiKeys.sha256(ALPHA_KEY + "-second"), mockBaseUrl));
      Files.writeString(dir.resolve("beta.json"), """
          {"id": "beta", "display_name": "Beta",
           "api_keys": [{"id": "k_beta", "sha256": "%s", "tier": "PAID"}],
           "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
          """.formatted(ApiKeys.sha256(BETA_KEY)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return TenantRegistry.load(dir, false);
  }
}
