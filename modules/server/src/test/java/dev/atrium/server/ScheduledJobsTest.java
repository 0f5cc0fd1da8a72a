package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.MutableClock;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Scheduled jobs on a real node and PostgreSQL: the chunk-expiry job on an hourly schedule,
 * the scheduler's clock moved by hand. Each slot runs at most once, whether the schedule,
 * a catch-up after downtime or an admin's trigger claims it.
 */
class ScheduledJobsTest {
  static final Map<String, Object> HOURLY = Map.of(
      "atrium.jobs.chunk-expiry.cron", "0 * * * *",
      "atrium.jobs.check-interval", "100ms");
  static final Instant START = Instant.parse("2026-12-01T10:30:00Z");

  static DatabaseSettings db;
  static MutableClock clock;
  static TestNode node;

  @BeforeAll
  static void start() {
    db = TestDatabase.fresh("scheduled_jobs");
    clock = new MutableClock(START);
    node = start("jobs", db, clock);
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static TestNode start(String name, DatabaseSettings database, MutableClock jobClock) {
    return start(name, database, jobClock, HOURLY);
  }

  static TestNode start(String name, DatabaseSettings database, MutableClock jobClock, Map<String, Object> settings) {
    return TestNode.start(name, database, TenantRegistry.load(TestNode.SHIPPED_TENANTS, false), settings, jobClock);
  }

  /**
   * A node whose scheduler has started: it has read job_runs and planned each job's next
   * slot from the clock as it was then. A test that moves the clock sooner could move where
   * a job that never ran begins (its next slot after the moved time).
   */
  static TestNode startScheduling(String name, DatabaseSettings database, MutableClock jobClock,
      Map<String, Object> settings) {
    try (CapturedLogs logs = CapturedLogs.capture()) {
      TestNode started = start(name, database, jobClock, settings);
      String address = Cluster.get(started.testKit.system()).selfMember().address().toString();
      ChatApiTest.await(Duration.ofSeconds(20), () ->
          assertThat(logs.linesContaining("job scheduler started on " + address)).isNotEmpty());
      return started;
    }
  }

  @Test
  void aManualTriggerTwiceRunsTheJobOnceAndTheScheduleGoesOnAfterTheSlotItTook() throws Exception {
    var first = trigger(node, "chunk-expiry");
    assertThat(first.statusCode()).isEqualTo(202);
    JsonNode started = TestHttp.json(first);
    assertThat(started.path("started").asBoolean()).isTrue();
    // A manual run is the job's next slot, brought forward.
    assertThat(started.path("run").path("scheduled_for").asText()).isEqualTo("2026-12-01T11:00:00Z");
    assertThat(started.path("run").path("trigger").asText()).isEqualTo("manual");

    var second = trigger(node, "chunk-expiry");
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(TestHttp.json(second).path("started").asBoolean()).isFalse();
    assertThat(TestHttp.json(second).path("run").path("scheduled_for").asText()).isEqualTo("2026-12-01T11:00:00Z");

    JsonNode job = awaitJob(node, j -> assertThat(j.path("last_run").path("outcome").asText()).isEqualTo("succeeded"));
    assertThat(job.path("cron").asText()).isEqualTo("0 * * * *");
    assertThat(job.path("next_run").asText()).isEqualTo("2026-12-01T12:00:00Z");
    assertThat(job.path("last_run").path("counts").path("chunks").isNumber()).isTrue();
    assertThat(job.path("last_run").path("counts").path("documents").isNumber()).isTrue();
    assertThat(job.path("last_run").path("ended_at").asText()).isNotEmpty();
    assertThat(slots()).containsExactly("2026-12-01T11:00:00Z manual succeeded");

    // The 11:00 slot ran already; the schedule goes on at 12:00.
    clock.advance(Duration.ofMinutes(91));
    awaitJob(node, j -> assertThat(j.path("last_run").path("scheduled_for").asText()).isEqualTo("2026-12-01T12:00:00Z"));
    ChatApiTest.await(Duration.ofSeconds(10), () -> assertThat(slots()).containsExactly(
        "2026-12-01T11:00:00Z manual succeeded", "2026-12-01T12:00:00Z schedule succeeded"));

    var history = admin(node).get("/admin/jobs/chunk-expiry?limit=1", auth(node));
    assertThat(history.statusCode()).isEqualTo(200);
    assertThat(TestHttp.json(history).path("runs").findValuesAsText("scheduled_for")).containsExactly("2026-12-01T12:00:00Z");
  }

  @Test
  void aSlotMissedWhileNoNodeRanRunsOnceWhenOneComesBack() {
    DatabaseSettings downtime = TestDatabase.fresh("jobs_downtime");
    MutableClock jobClock = new MutableClock(START);
    try (TestNode first = startScheduling("before", downtime, jobClock, HOURLY)) {
      JsonNode job = awaitJob(first, j -> assertThat(j.path("next_run").asText()).isEqualTo("2026-12-01T11:00:00Z"));
      assertThat(job.path("last_run").isNull()).isTrue();
      jobClock.advance(Duration.ofMinutes(31));
      awaitJob(first, j -> assertThat(j.path("last_run").path("outcome").asText()).isEqualTo("succeeded"));
    }
    // Down from 11:01 to 15:20: the 12:00, 13:00, 14:00 and 15:00 slots pass with no node up.
    jobClock.advance(Duration.ofHours(4).plusMinutes(19));
    try (TestNode second = start("after", downtime, jobClock)) {
      // The first node's 11:00 run is there at once; the catch-up is the run of the 15:00 slot.
      JsonNode job = awaitJob(second, j -> {
        assertThat(j.path("last_run").path("scheduled_for").asText()).isEqualTo("2026-12-01T15:00:00Z");
        assertThat(j.path("last_run").path("outcome").asText()).isEqualTo("succeeded");
      });
      assertThat(job.path("last_run").path("trigger").asText()).isEqualTo("catch_up");
      assertThat(job.path("next_run").asText()).isEqualTo("2026-12-01T16:00:00Z");
      // Once, for the latest missed slot: not once per slot.
      assertThat(slots(downtime)).containsExactly(
          "2026-12-01T11:00:00Z schedule succeeded", "2026-12-01T15:00:00Z catch_up succeeded");
    }
  }

  @Test
  void aFailedRunIsRecordedWithItsErrorAndTheScheduleGoesOn() throws SQLException {
    DatabaseSettings failing = TestDatabase.fresh("jobs_failing");
    MutableClock jobClock = new MutableClock(START);
    try (TestNode on = start("failing", failing, jobClock)) {
      owner(failing, "revoke delete on rag_chunks from atrium_system");
      assertThat(trigger(on, "chunk-expiry").statusCode()).isEqualTo(202);
      JsonNode job = awaitJob(on, j -> assertThat(j.path("last_run").path("outcome").asText()).isEqualTo("failed"));
      assertThat(job.path("last_run").path("error").asText()).contains("permission denied");
      assertThat(job.path("last_run").path("ended_at").asText()).isNotEmpty();

      owner(failing, "grant delete on rag_chunks to atrium_system");
      jobClock.advance(Duration.ofMinutes(91));
      awaitJob(on, j -> assertThat(j.path("last_run").path("outcome").asText()).isEqualTo("succeeded"));
      assertThat(slots(failing)).containsExactly(
          "2026-12-01T11:00:00Z manual failed", "2026-12-01T12:00:00Z schedule succeeded");
    }
  }

  @Test
  void runsAreKeptForTheHistoryRetentionAndEachJobsLatestRunAlways() throws SQLException {
    DatabaseSettings history = TestDatabase.fresh("jobs_retention");
    // A job no longer registered: its latest run stays, however old, the one before goes.
    owner(history, "insert into job_runs (job, scheduled_for, trigger, node, started_at, ended_at, outcome) values "
        + "('retired', '2026-01-01T00:00Z', 'schedule', 'gone', '2026-01-01T00:00Z', '2026-01-01T00:01Z', 'succeeded'), "
        + "('retired', '2026-02-01T00:00Z', 'schedule', 'gone', '2026-02-01T00:00Z', '2026-02-01T00:01Z', 'succeeded')");
    Map<String, Object> settings = new java.util.HashMap<>(HOURLY);
    settings.put("atrium.jobs.history-retention", "150m");
    MutableClock jobClock = new MutableClock(START);
    try (TestNode on = startScheduling("retention", history, jobClock, settings)) {
      for (String slot : List.of("11:00", "12:00", "13:00", "14:00")) {
        jobClock.advance(Duration.ofMinutes(slot.equals("11:00") ? 31 : 60));
        awaitJob(on, j -> assertThat(j.path("last_run").path("scheduled_for").asText())
            .isEqualTo("2026-12-01T" + slot + ":00Z"));
        awaitJob(on, j -> assertThat(j.path("last_run").path("outcome").asText()).isEqualTo("succeeded"));
      }
      // After the 14:00 run (at 14:01) the runs that started before 11:31 are gone: the 11:00 run.
      ChatApiTest.await(Duration.ofSeconds(10), () -> assertThat(slots(history)).containsExactly(
          "2026-12-01T12:00:00Z schedule succeeded", "2026-12-01T13:00:00Z schedule succeeded",
          "2026-12-01T14:00:00Z schedule succeeded"));
      assertThat(slots(history, "retired")).containsExactly("2026-02-01T00:00:00Z schedule succeeded");
    }
    // Down until 20:01: the latest slot kept, the 20:00 slot still runs once as a catch-up,
    // and then the three runs before it are past the retention.
    jobClock.advance(Duration.ofHours(6));
    try (TestNode after = start("retention-after", history, jobClock, settings)) {
      awaitJob(after, j -> assertThat(j.path("last_run").path("trigger").asText()).isEqualTo("catch_up"));
      ChatApiTest.await(Duration.ofSeconds(10), () -> assertThat(slots(history))
          .containsExactly("2026-12-01T20:00:00Z catch_up succeeded"));
      JsonNode runs = TestHttp.json(admin(after).get("/admin/jobs/chunk-expiry?limit=100", auth(after)));
      assertThat(runs.path("runs").findValuesAsText("scheduled_for")).containsExactly("2026-12-01T20:00:00Z");
      assertThat(slots(history, "retired")).containsExactly("2026-02-01T00:00:00Z schedule succeeded");
    }
  }

  static void owner(DatabaseSettings database, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(database.url(), database.ownerUser(), database.ownerPassword())) {
      c.createStatement().execute(sql);
    }
  }

  @Test
  void anUnknownJobIs404ProblemJsonWithTheRequestId() {
    var run = admin(node).send(admin(node).request("/admin/jobs/no-such-job/run")
        .header("Authorization", "Bearer " + node.adminToken).header("x-request-id", "req-unknown-job")
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(run.statusCode()).isEqualTo(404);
    assertThat(run.headers().firstValue("content-type")).contains("application/problem+json");
    assertThat(TestHttp.json(run).path("request_id").asText()).isEqualTo("req-unknown-job");
    assertThat(TestHttp.json(run).path("code").asText()).isEqualTo("not_found");

    var get = admin(node).get("/admin/jobs/no-such-job", auth(node));
    assertThat(get.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(get).path("request_id").asText()).isNotBlank();
  }

  @Test
  void badInputIsAClear4xx() {
    for (String limit : List.of("0", "101", "ten")) {
      var bad = admin(node).get("/admin/jobs/chunk-expiry?limit=" + limit, auth(node));
      assertThat(bad.statusCode()).as(limit).isEqualTo(400);
      assertThat(bad.headers().firstValue("content-type")).contains("application/problem+json");
      assertThat(TestHttp.json(bad).path("code").asText()).isEqualTo("invalid_parameter");
    }
    var wrongMethod = admin(node).get("/admin/jobs/chunk-expiry/run", auth(node));
    assertThat(wrongMethod.statusCode()).isEqualTo(405);
    assertThat(TestHttp.json(wrongMethod).path("request_id").asText()).isNotBlank();
    var noToken = admin(node).send(admin(node).request("/admin/jobs/chunk-expiry/run")
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(noToken.statusCode()).isEqualTo(401);
    assertThat(admin(node).get("/admin/jobs").statusCode()).isEqualTo(401);
  }

  static HttpResponse<String> trigger(TestNode on, String job) {
    return admin(on).send(admin(on).request("/admin/jobs/" + job + "/run")
        .header("Authorization", "Bearer " + on.adminToken).POST(HttpRequest.BodyPublishers.noBody()));
  }

  /** The chunk-expiry job in {@code GET /admin/jobs}, once {@code check} holds for it. */
  static JsonNode awaitJob(TestNode on, java.util.function.Consumer<JsonNode> check) {
    JsonNode[] found = new JsonNode[1];
    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      var jobs = admin(on).get("/admin/jobs", auth(on));
      assertThat(jobs.statusCode()).isEqualTo(200);
      JsonNode job = null;
      for (JsonNode j : TestHttp.json(jobs).path("jobs")) {
        if (j.path("name").asText().equals("chunk-expiry")) {
          job = j;
        }
      }
      assertThat(job).isNotNull();
      check.accept(job);
      found[0] = job;
    });
    return found[0];
  }

  static TestHttp admin(TestNode on) {
    return on.adminHttp();
  }

  static String[] auth(TestNode on) {
    return new String[] {"Authorization", "Bearer " + on.adminToken};
  }

  static List<String> slots() {
    return slots(db);
  }

  static List<String> slots(DatabaseSettings database) {
    return slots(database, "chunk-expiry");
  }

  /** The job's rows in job_runs, as "scheduled_for trigger outcome", in slot order. */
  static List<String> slots(DatabaseSettings database, String job) {
    try (Connection c = DriverManager.getConnection(database.url(), database.ownerUser(), database.ownerPassword());
         var statement = c.prepareStatement("select to_char(scheduled_for at time zone 'UTC', "
             + "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' ' || trigger || ' ' || outcome from job_runs "
             + "where job = ? order by scheduled_for")) {
      statement.setString(1, job);
      List<String> rows = new ArrayList<>();
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          rows.add(rs.getString(1));
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
