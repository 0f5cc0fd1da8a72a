package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A node says which mode it runs: in /health, in /metrics and on its log lines. */
class ModesTest {

  @Test
  void aStagingNodeSaysSoInHealthMetricsAndLogs() {
    try (CapturedLogs logs = CapturedLogs.capture();
        TestNode node = TestNode.start("staging", TestDatabase.fresh("staging"),
            TenantRegistry.load(TestNode.SHIPPED_TENANTS, false), Map.of("atrium.mode", "staging"))) {
      var health = node.publicHttp().get("/health");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(TestHttp.json(health).path("status").asText()).isEqualTo("ok");
      assertThat(TestHttp.json(health).path("mode").asText()).isEqualTo("staging");
      assertThat(TestHttp.json(node.publicHttp().get("/ready")).path("mode").asText()).isEqualTo("staging");

      String metrics = node.adminHttp().get("/metrics", "Authorization", "Bearer " + node.adminToken).body();
      assertThat(metrics).contains("atrium_info{mode=\"staging\",version=\"0.1.0\"} 1\n");

      // The access-log line of the /health request above carries the mode.
      Eventually.await(Duration.ofSeconds(10), () -> assertThat(logs.linesContaining("/health"))
          .filteredOn(line -> line.contains("\"logger_name\":\"atrium.access\""))
          .isNotEmpty()
          .allSatisfy(line -> assertThat(line).contains("\"mode\":\"staging\"")));
    }
  }
}
