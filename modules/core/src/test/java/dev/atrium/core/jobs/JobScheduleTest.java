package dev.atrium.core.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class JobScheduleTest {
  static Instant at(String text) {
    return Instant.parse(text);
  }

  @Test
  void theNextSlotIsStrictlyAfterAndTheLatestAtOrBefore() {
    JobSchedule daily = JobSchedule.parse("atrium.jobs.x.cron", "0 3 * * *");
    assertThat(daily.next(at("2026-12-01T02:59:59.999Z"))).contains(at("2026-12-01T03:00:00Z"));
    assertThat(daily.next(at("2026-12-01T03:00:00Z"))).contains(at("2026-12-02T03:00:00Z"));
    assertThat(daily.latest(at("2026-12-01T03:00:00Z"))).contains(at("2026-12-01T03:00:00Z"));
    assertThat(daily.latest(at("2026-12-01T03:00:59Z"))).contains(at("2026-12-01T03:00:00Z"));
    assertThat(daily.latest(at("2026-12-01T02:59:59.999Z"))).contains(at("2026-11-30T03:00:00Z"));
    // Days of downtime: the latest slot is the one that runs.
    assertThat(daily.latest(at("2026-12-05T12:00:00Z"))).contains(at("2026-12-05T03:00:00Z"));
  }

  @Test
  void anExpressionThatNamesNoTimeHasNoNextSlot() {
    assertThat(JobSchedule.parse("atrium.jobs.x.cron", "0 0 30 2 *").next(at("2026-12-01T00:00:00Z"))).isEmpty();
  }

  @Test
  void aMalformedExpressionNamesTheSettingAndTheReason() {
    assertThatThrownBy(() -> JobSchedule.parse("atrium.jobs.chunk-expiry.cron", "61 * * * *"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("atrium.jobs.chunk-expiry.cron = '61 * * * *'")
        .hasMessageContaining("59");
    assertThatThrownBy(() -> JobSchedule.parse("atrium.jobs.chunk-expiry.cron", "every day"))
        .hasMessageContaining("five fields");
  }

  @Test
  void jobsAreRegisteredOnceWithPlainNamesBeforeTheSchedulerStarts() {
    Jobs jobs = new Jobs().register(job("usage-rollup"));
    assertThatThrownBy(() -> jobs.register(job("usage-rollup"))).hasMessageContaining("twice");
    assertThatThrownBy(() -> jobs.register(job("Usage Rollup"))).hasMessageContaining("lower case");
    jobs.closeRegistration();
    assertThatThrownBy(() -> jobs.register(job("late"))).hasMessageContaining("after the scheduler started");
    assertThat(jobs.names()).containsExactly("usage-rollup");
  }

  static Job job(String name) {
    return new Job() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public CompletionStage<Map<String, Long>> run(Job.Slot slot) {
        return CompletableFuture.completedFuture(Map.of());
      }
    };
  }
}
