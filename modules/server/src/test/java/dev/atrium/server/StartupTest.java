package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What {@code ./atrium serve} refuses before it starts anything, per mode. */
class StartupTest {

  static ServerOptions modeOptions(String mode, Map<String, Object> extra) {
    Map<String, Object> overrides = new HashMap<>(ServerOptions.parse("--mode", mode,
        "--tenants-dir", TestNode.SHIPPED_TENANTS.toString()).overrides());
    overrides.putAll(extra);
    return new ServerOptions(overrides, false);
  }

  @ParameterizedTest
  @ValueSource(strings = {"staging", "prod"})
  void stagingAndProductionRefuseTheDemoKey(String mode) {
    ServerOptions options = modeOptions(mode, Map.of(
        "atrium.admin-token", "a-real-token-from-the-environment",
        "atrium.database.url", "jdbc:postgresql://127.0.0.1:1/never-reached"));
    assertThatThrownBy(() -> Main.start(options))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining("demo.json").hasMessageContaining("k_demo").hasMessageContaining("development key");
  }

  @ParameterizedTest
  @ValueSource(strings = {"staging", "prod"})
  void stagingAndProductionRefuseAGeneratedAdminToken(String mode) {
    ServerOptions options = modeOptions(mode, Map.of(
        "atrium.admin-token", "",
        "atrium.database.url", "jdbc:postgresql://127.0.0.1:1/never-reached"));
    assertThatThrownBy(() -> Main.start(options))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining(mode + " mode needs ATRIUM_ADMIN_TOKEN");
  }

  @ParameterizedTest
  @ValueSource(strings = {"staging", "prod"})
  void stagingAndProductionRefuseTheEmbeddedDatabase(String mode) {
    ServerOptions options = modeOptions(mode, Map.of("atrium.admin-token", "t", "atrium.database.url", ""));
    assertThatThrownBy(() -> Main.start(options))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining(mode + " mode needs an external database").hasMessageContaining("ATRIUM_DATABASE_URL");
  }

  @Test
  void anUnknownModeStopsTheServerNamingTheModes() {
    ServerOptions options = modeOptions("production", Map.of());
    assertThatThrownBy(() -> Main.start(options))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining("ATRIUM_MODE").hasMessageContaining("'dev', 'staging' or 'prod'")
        .hasMessageContaining("'production'");
  }

  @Test
  void aBadOutboundRuleStopsTheServerNamingTheSetting() {
    Map<String, Object> overrides = new HashMap<>(ServerOptions.parse(
        "--tenants-dir", TestNode.SHIPPED_TENANTS.toString()).overrides());
    overrides.put("atrium.outbound.request.allow", List.of("10.0.0.0/99"));
    assertThatThrownBy(() -> Main.start(new ServerOptions(overrides, false)))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining("atrium.outbound.request.allow").hasMessageContaining("10.0.0.0/99");
  }

  @Test
  void eachModesOverlaySitsBetweenTheOverridesAndTheDefaults() {
    Config dev = ConfigFactory.load(ServerMode.DEV.layered(ConfigFactory.empty()));
    Config staging = ConfigFactory.load(ServerMode.STAGING.layered(ConfigFactory.empty()));
    Config prod = ConfigFactory.load(ServerMode.PROD.layered(ConfigFactory.empty()));
    assertThat(dev.getBoolean("pekko.http.server.verbose-error-messages")).isTrue();
    assertThat(prod.getBoolean("pekko.http.server.verbose-error-messages")).isFalse();
    assertThat(prod.getString("pekko.http.server.server-header")).isEmpty();
    assertThat(dev.getString("pekko.http.server.server-header")).isNotEmpty();
    // staging is prod's overlay
    assertThat(staging.getBoolean("pekko.http.server.verbose-error-messages")).isFalse();
    assertThat(staging.getString("pekko.http.server.server-header")).isEmpty();
    // an override wins over the overlay, the defaults stay under it
    Config overridden = ConfigFactory.load(ServerMode.PROD.layered(
        ConfigFactory.parseMap(Map.of("pekko.http.server.verbose-error-messages", "on"))));
    assertThat(overridden.getBoolean("pekko.http.server.verbose-error-messages")).isTrue();
    assertThat(prod.getString("atrium.http.ask-timeout")).isEqualTo("5s");
  }

  @Test
  void modesAreDevStagingAndProdOnly() {
    assertThat(ServerMode.of("dev").strict()).isFalse();
    assertThat(ServerMode.of("staging").strict()).isTrue();
    assertThat(ServerMode.of("prod").strict()).isTrue();
    assertThatThrownBy(() -> ServerMode.of("PROD")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aBadPriceTableStopsTheServerNamingTheField() {
    Map<String, Object> overrides = new HashMap<>(ServerOptions.parse(
        "--tenants-dir", TestNode.SHIPPED_TENANTS.toString()).overrides());
    overrides.put("atrium.usage.prices.gpt-x.input", -1);
    overrides.put("atrium.usage.prices.gpt-x.output", 1);
    overrides.put("atrium.usage.prices.gpt-x.colour", 1);
    assertThatThrownBy(() -> Main.start(new ServerOptions(overrides, false)))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining("atrium.usage.prices.\"gpt-x\".input: must not be negative (-1)")
        .hasMessageContaining("atrium.usage.prices.\"gpt-x\".colour: unknown field");
  }

  @Test
  void badTenantFilesStopTheServerNamingTheFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Files.writeString(dir.resolve("x.json"), "{\"id\": \"x\", \"display_name\": \"X\"}");
    ServerOptions options = ServerOptions.parse("--tenants-dir", dir.toString());
    assertThatThrownBy(() -> Main.start(options))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining("x.json").hasMessageContaining("api_keys");
  }

  @Test
  void parsesTheLauncherFlags() {
    ServerOptions options = ServerOptions.parse("--http-port", "9000", "--admin-port=9001",
        "--management-port", "9002", "--remote-port", "9003", "--data-dir", "/tmp/d", "--tenants-dir", "t", "--prod");
    assertThat(options.overrides()).containsEntry("atrium.http.port", 9000)
        .containsEntry("atrium.http.admin-port", 9001)
        .containsEntry("pekko.management.http.port", 9002)
        .containsEntry("pekko.remote.artery.canonical.port", 9003)
        .containsEntry("atrium.embedded-database.data-dir", "/tmp/d")
        .containsEntry("atrium.tenants-dir", "t")
        .containsEntry("atrium.mode", "prod");
    assertThat(ServerOptions.parse("--mode", "staging").overrides()).containsEntry("atrium.mode", "staging");
    assertThat(ServerOptions.parse("--mode=dev").overrides()).containsEntry("atrium.mode", "dev");
  }

  @Test
  void refusesUnknownFlagsAndBadPorts() {
    assertThatThrownBy(() -> ServerOptions.parse("--colour")).hasMessageContaining("unknown option --colour");
    assertThatThrownBy(() -> ServerOptions.parse("--http-port", "http")).hasMessageContaining("port number");
    assertThatThrownBy(() -> ServerOptions.parse("--http-port")).hasMessageContaining("needs a value");
  }
}
