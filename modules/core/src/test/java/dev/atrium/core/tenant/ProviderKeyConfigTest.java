package dev.atrium.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.secrets.SecretRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a provider's key comes from: api_key_env, api_key_file or api_key_secret, at most one. */
class ProviderKeyConfigTest {
  @TempDir Path dir;

  void tenant(String id, String provider) throws IOException {
    Files.writeString(dir.resolve(id + ".json"), """
        {"id": "%s", "display_name": "%s", "api_keys": [],
         "models": {"default_model": "m", "models": {"m": {"provider": "up"}},
                    "providers": {"up": %s}}}
        """.formatted(id, id, provider));
  }

  TenantConfig.ProviderSettings provider(String id) {
    return TenantRegistry.load(dir, false).byId(id).orElseThrow().models().providers().get("up");
  }

  String failure() {
    try {
      TenantRegistry.load(dir, false);
    } catch (TenantConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("expected the tenants to be refused");
  }

  @Test
  void eachFormNamesItsPlace() throws IOException {
    tenant("e", """
        {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "UP_KEY"}""");
    tenant("f", """
        {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_file": "/var/run/secrets/up/key"}""");
    tenant("s", """
        {"type": "anthropic", "base_url": "http://127.0.0.1:9", "api_key_secret": {"name": "prod/up", "field": "key"}}""");
    tenant("n", """
        {"type": "openai", "base_url": "http://127.0.0.1:9/v1"}""");
    assertThat(provider("e").apiKey()).contains(SecretRef.env("UP_KEY"));
    assertThat(provider("f").apiKey()).contains(SecretRef.file("/var/run/secrets/up/key"));
    assertThat(provider("s").apiKey()).contains(SecretRef.awsSecret("prod/up", "key"));
    assertThat(provider("n").apiKey()).isEmpty();
  }

  @Test
  void twoPlacesForOneKeyAreRefused() throws IOException {
    tenant("a", """
        {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "UP_KEY", "api_key_file": "/k"}""");
    assertThat(failure()).contains("a.json: field 'models.providers.up': at most one of api_key_env, api_key_file,"
        + " api_key_secret (has 2)");
  }

  @Test
  void aSecretNeedsAName() throws IOException {
    tenant("a", """
        {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_secret": {"field": "key"}}""");
    assertThat(failure()).contains("a.json").contains("name");
  }
}
