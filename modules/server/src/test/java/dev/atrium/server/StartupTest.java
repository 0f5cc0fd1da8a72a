package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@code ./atrium serve} refuses before it starts anything. */
class StartupTest {

  static ServerOptions prodOptions(Map<String, Object> extra) {
    Map<String, Object> overrides = new HashMap<>(ServerOptions.parse("--prod",
        "--tenants-dir", TestNode.SHIPPED_TENANTS.toString()).overrides());
    overrides.putAll(extra);
    return new ServerOptions(overrides, false);
  }

  @Test
  void productionRefusesTheDemoKey() {
    ServerOptions options = prodOptions(Map.of(
        "atrium.admin-token", "a-real-token-from-the-environment",
        "atrium.database.url", "jdbc:postgresql://127.0.0.1:1/never-reached"));
    assertThatThrownBy(() -> Main.start(options))
        .isInstanceOf(Main.StartupRefused.class)
        .hasMessageContaining("demo.json")
        .hasMessageContaining("k_demo")
        .hasMessageContaining("development key");
  }

  @Test
  void productionRefusesToStartWithoutAnAdminToken() {
    ServerOptions options = prodOptions(Map.of(
        "atrium.admin-token", "",
        "atrium.database.url", "jdbc:postgresql://127.0.0.1:1/never-reached"));
    assertThatThrownBy(() -> Main.start(options)).hasMessageContaining("ATRIUM_ADMIN_TOKEN");
  }

  @Test
  void productionRefusesToStartWithoutAnExternalDatabase() {
    ServerOptions options = prodOptions(Map.of("atrium.admin-token", "t", "atrium.database.url", ""));
    assertThatThrownBy(() -> Main.start(options)).hasMessageContaining("ATRIUM_DATABASE_URL");
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
  }

  @Test
  void refusesUnknownFlagsAndBadPorts() {
    assertThatThrownBy(() -> ServerOptions.parse("--colour")).hasMessageContaining("unknown option --colour");
    assertThatThrownBy(() -> ServerOptions.parse("--http-port", "http")).hasMessageContaining("port number");
    assertThatThrownBy(() -> ServerOptions.parse("--http-port")).hasMessageContaining("needs a value");
  }
}
