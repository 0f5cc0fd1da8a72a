package dev.atrium.gateway.byok;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a caller's provider key with the shipped families (conf/atrium.conf): shapes, families, refusals. */
class ProviderKeysTest {
  static final String OPENAI = "sk-proj-" + "Ab3_-".repeat(10);
  static final String LEGACY = "sk-" + "x7Y".repeat(16);
  static final String ANTHROPIC = "sk-ant-api03-" + "Qz9-_".repeat(12);

  @TempDir Path dir;
  TenantRegistry tenants;
  ProviderKeys keys;

  @BeforeEach
  void load() throws IOException {
    Files.writeString(dir.resolve("on.json"), """
        {"id": "on", "display_name": "On", "api_keys": [], "features": {"byok": true}, "byok": {"providers": {"openai": "up"}},
         "models": {"models": {"m": {"provider": "up"}},
                    "providers": {"up": {"type": "openai", "base_url": "http://127.0.0.1:1"}}}}""");
    Files.writeString(dir.resolve("off.json"), """
        {"id": "off", "display_name": "Off", "api_keys": []}""");
    tenants = TenantRegistry.load(dir, false);
    keys = ProviderKeys.fromConfig(ConfigFactory.load().getConfig("atrium.byok"), tenants);
  }

  Optional<ProviderKey> read(String tenant, String... headers) {
    HttpRequest request = HttpRequest.POST("/v1/chat/completions");
    for (int i = 0; i < headers.length; i += 2) {
      request = request.addHeader(RawHeader.create(headers[i], headers[i + 1]));
    }
    return keys.from(tenants.byId(tenant).orElseThrow(), request);
  }

  ApiError refusal(String tenant, String... headers) {
    try {
      read(tenant, headers);
    } catch (ApiError e) {
      assertThat(e.status().intValue()).isEqualTo(400);
      for (int i = 1; i < headers.length; i += 2) {
        assertThat(e.getMessage()).doesNotContain(headers[i].trim());
        assertThat(e.extensions().toString()).doesNotContain(headers[i].trim());
      }
      return e;
    }
    throw new AssertionError("expected a 400");
  }

  @Test
  void readsAKeyOfEachShapeFromItsHeaderOrTheGenericOne() {
    assertThat(read("on")).isEmpty();
    assertThat(read("on", "x-openai-key", OPENAI)).get().satisfies(k -> {
      assertThat(k.family()).isEqualTo("openai");
      assertThat(k.header()).isEqualTo("x-openai-key");
      assertThat(k.secret()).isEqualTo(OPENAI);
      assertThat(k.toString()).doesNotContain(OPENAI).contains("openai");
    });
    assertThat(read("on", "X-Gen-AI-Key", " " + LEGACY + " ")).get().satisfies(k -> {
      assertThat(k.family()).isEqualTo("openai");
      assertThat(k.secret()).isEqualTo(LEGACY);
    });
    // The generic header tells Anthropic's keys from OpenAI's by their shape.
    assertThat(refusal("on", "x-gen-ai-key", ANTHROPIC).code()).isEqualTo("byok_no_provider");
    assertThat(refusal("on", "x-anthropic-key", ANTHROPIC).code()).isEqualTo("byok_no_provider");
  }

  @Test
  void refusesMalformedAndWrongFamilyKeysAndTwoKeys() {
    assertThat(refusal("on", "x-openai-key", "sk-short").code()).isEqualTo("invalid_provider_key");
    assertThat(refusal("on", "x-openai-key", OPENAI + " extra").code()).isEqualTo("invalid_provider_key");
    assertThat(refusal("on", "x-openai-key", ANTHROPIC).code()).isEqualTo("invalid_provider_key");
    assertThat(refusal("on", "x-anthropic-key", OPENAI).code()).isEqualTo("invalid_provider_key");
    assertThat(refusal("on", "x-gen-ai-key", "AIza" + "k".repeat(35)).code()).isEqualTo("invalid_provider_key");
    ApiError two = refusal("on", "x-openai-key", OPENAI, "x-gen-ai-key", LEGACY);
    assertThat(two.code()).isEqualTo("invalid_provider_key");
    assertThat(two.getMessage()).contains("x-openai-key").contains("x-gen-ai-key");
  }

  @Test
  void aTenantWithoutTheFeatureRefusesAnyKey() {
    assertThat(refusal("off", "x-openai-key", OPENAI).code()).isEqualTo("byok_not_enabled");
    assertThat(refusal("off", "x-gen-ai-key", "not even a key").code()).isEqualTo("byok_not_enabled");
    assertThat(read("off")).isEmpty();
  }

  @Test
  void aTenantMappingAFamilyTheServerDoesNotDefineStopsTheNode() throws IOException {
    Files.writeString(dir.resolve("on.json"), Files.readString(dir.resolve("on.json")).replace("\"openai\": \"up\"",
        "\"mistral\": \"up\""));
    TenantRegistry withMistral = TenantRegistry.load(dir, false);
    assertThatThrownBy(() -> ProviderKeys.fromConfig(ConfigFactory.load().getConfig("atrium.byok"), withMistral))
        .isInstanceOf(ConfigException.class).hasMessageContaining("'on'").hasMessageContaining("'mistral'");
  }
}
