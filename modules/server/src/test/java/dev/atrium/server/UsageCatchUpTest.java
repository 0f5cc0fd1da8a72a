package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static dev.atrium.server.UsageViewsTest.admin;
import static dev.atrium.server.UsageViewsTest.daily;
import static dev.atrium.server.UsageViewsTest.triggerAndAwait;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.MutableClock;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage-daily job after downtime, on real nodes with the scheduler's clock moved by
 * hand: the slot missed while no node ran is caught up at start, and that one run rolls up
 * every day since the last one rolled up.
 */
class UsageCatchUpTest {
  @TempDir static Path tenantsDir;

  @BeforeAll
  static void tenants() throws IOException {
    // No model call is made here: the upstream is never asked.
    UsageViewsTest.writeTenants(tenantsDir, "http://127.0.0.1:9");
  }

  @Test
  void aDayMissedWhileNoNodeRanIsRolledUpWhenOneComesBack() {
    DatabaseSettings downtime = TestDatabase.fresh("usage_views_downtime");
    Instant start = Instant.parse("2026-11-10T12:00:00Z");
    LocalDate day = LocalDate.parse("2026-11-10");
    UsageViewsTest.insertPastUsage(downtime, day.minusDays(1), day);
    UsageViewsTest.insert(downtime, "views-a", "acct_1", "k_acct", "mock", day.plusDays(1).atTime(9, 0),
        7, 7, 0, 70L, 7);
    MutableClock clock = new MutableClock(start);
    Map<String, Object> overrides = Map.of("atrium.jobs.check-interval", "100ms");
    try (TestNode first = TestNode.start("views-before", downtime, TenantRegistry.load(tenantsDir, false), overrides,
        clock)) {
      // Run on the 10th: the 9th is complete, the 10th is not.
      assertThat(triggerAndAwait(first).path("scheduled_for").asText()).isEqualTo("2026-11-11T00:15:00Z");
      assertThat(daily(downtime, "true")).extracting(r -> r.get("day")).containsOnly("2026-11-09");
    }
    // Down until the 12th at 03:00: the 12th's 00:15 slot passed with no node up.
    clock.advance(Duration.ofHours(39));
    try (TestNode second = TestNode.start("views-after", downtime, TenantRegistry.load(tenantsDir, false), overrides,
        clock)) {
      await(Duration.ofSeconds(20), () -> {
        JsonNode runs = TestHttp.json(second.adminHttp().get("/admin/jobs/usage-daily", admin(second))).path("runs");
        assertThat(runs.get(0).path("scheduled_for").asText()).isEqualTo("2026-11-12T00:15:00Z");
        assertThat(runs.get(0).path("trigger").asText()).isEqualTo("catch_up");
        assertThat(runs.get(0).path("outcome").asText()).isEqualTo("succeeded");
      });
      assertThat(daily(downtime, "true")).extracting(r -> r.get("day") + " " + r.get("tenant_id") + " "
          + r.get("requests")).containsExactly(
          "2026-11-09 views-a 1", "2026-11-09 views-a 1", "2026-11-09 views-b 1",
          "2026-11-10 views-a 1", "2026-11-10 views-a 1", "2026-11-10 views-b 1",
          "2026-11-11 views-a 1");
    }
  }
}
