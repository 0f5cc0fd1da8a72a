package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.io.StringReader;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage views and export on a real node and PostgreSQL: usage_events rows of two tenants
 * over three days (the past ones inserted with past times, today's from a real call through
 * the mock upstream), rolled up by the usage-daily job triggered through the admin API, then
 * read through {@code /v1/usage} (tenant- and account-scoped), the admin tenant report and
 * the admin export; bad parameters. (UsageCatchUpTest: a day missed while no node ran.)
 */
class UsageViewsTest {
  static final String PLAIN = "views-plain-" + UUID.randomUUID();
  static final String ACCOUNT = "views-account-" + UUID.randomUUID();
  static final String OTHER = "views-other-" + UUID.randomUUID();
  static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);
  static final LocalDate D1 = TODAY.minusDays(1);
  static final LocalDate D2 = TODAY.minusDays(2);
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static TestNode node;
  static JsonNode firstRun;

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    writeTenants(tenantsDir, mock.baseUrl());
    db = TestDatabase.fresh("usage_views");
    insertPastUsage(db, D2, D1);
    node = TestNode.start("usage-views", db, TenantRegistry.load(tenantsDir, false),
        Map.of("atrium.usage.flush-interval", "50ms", "atrium.jobs.check-interval", "100ms"));
    // Prometheus shows the chat-call counters of a tenant that has made no call yet.
    assertThat(node.adminHttp().get("/metrics").body())
        .contains("atrium_stateless_requests_total{tenant=\"views-b\"} 0.0")
        .contains("atrium_persistent_requests_total{tenant=\"views-b\"} 0.0")
        .contains("atrium_byo_requests_total{tenant=\"views-b\"} 0.0");
    // Today's usage: one call of the account key, through the upstream.
    var call = node.publicHttp().postJson("/v1/chat/completions",
        "{\"model\": \"mock\", \"messages\": [{\"role\": \"user\", \"content\": \"Count for me\"}]}",
        "Authorization", "Bearer " + ACCOUNT, "x-request-id", "req-views-today");
    assertThat(call.statusCode()).as(call.body()).isEqualTo(200);
    await(Duration.ofSeconds(10), () -> assertThat(events("request_id = 'req-views-today'")).hasSize(1));
    firstRun = triggerAndAwait(node);
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
  }

  static void writeTenants(Path dir, String upstream) throws IOException {
    Files.writeString(dir.resolve("views-a.json"), """
        {"id": "views-a", "display_name": "Views A",
         "api_keys": [{"id": "k_plain", "sha256": "%s", "tier": "PAID"},
                      {"id": "k_acct", "sha256": "%s", "tier": "PAID", "account": "acct_1"}],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(PLAIN), ApiKeys.sha256(ACCOUNT), upstream));
    Files.writeString(dir.resolve("views-b.json"), """
        {"id": "views-b", "display_name": "Views B",
         "api_keys": [{"id": "k_b", "sha256": "%s", "tier": "PAID", "account": "acct_b"}],
         "anonymous_route_classes": ["default"]}
        """.formatted(ApiKeys.sha256(OTHER)));
  }

  /** Two tenants' calls on the two days before today, written as the recorder would have. */
  static void insertPastUsage(DatabaseSettings database, LocalDate d2, LocalDate d1) {
    insert(database, "views-a", "acct_1", "k_acct", "mock", d2.atTime(0, 0), 10, 5, 1, 100L, 20);
    insert(database, "views-a", "acct_2", "k_other", "big", d2.atTime(23, 59, 59), 20, 10, 0, null, 30);
    insert(database, "views-a", "acct_1", "k_acct", "mock", d1.atTime(12, 0), 30, 15, 0, 300L, 40);
    insert(database, "views-a", null, "k_plain", "mock", d1.atTime(13, 0), 5, 5, 0, 50L, 10);
    insert(database, "views-b", "acct_b", "k_b", "mock", d2.atTime(8, 0), 1000, 1000, 0, 9999L, 99);
    insert(database, "views-b", "acct_b", "k_b", "mock", d1.atTime(8, 0), 1000, 1000, 0, 9999L, 99);
  }

  static void insert(DatabaseSettings database, String tenant, String account, String key, String model,
      java.time.LocalDateTime at, int in, int out, int cached, Long cost, int totalMs) {
    try (Connection c = DriverManager.getConnection(database.url(), database.systemUser(), database.systemPassword());
        var s = c.prepareStatement("insert into usage_events (usage_id, created_at, tenant_id, account_id, key_id, "
            + "operation, route_class, provider, model, upstream_model, tokens_in, tokens_out, cached_tokens_in, "
            + "tokens_counted, cost_micro_usd, total_ms, status) values (?, ?, ?, ?, ?, 'chat', 'completions', "
            + "'openai:up', ?, ?, ?, ?, ?, false, ?, ?, 'ok')")) {
      s.setObject(1, UUID.randomUUID());
      s.setObject(2, at.atOffset(ZoneOffset.UTC));
      s.setString(3, tenant);
      s.setString(4, account);
      s.setString(5, key);
      s.setString(6, model);
      s.setString(7, model + "-model");
      s.setInt(8, in);
      s.setInt(9, out);
      s.setInt(10, cached);
      s.setObject(11, cost);
      s.setInt(12, totalMs);
      s.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The rows of {@code sql}, each value as its text (as JSON and CSV carry it). */
  static List<Map<String, String>> query(DatabaseSettings database, String sql) {
    List<Map<String, String>> rows = new ArrayList<>();
    for (Map<String, Object> row : UsageTest.query(database, sql)) {
      Map<String, String> text = new LinkedHashMap<>();
      row.forEach((column, value) -> text.put(column, value == null ? null : value.toString()));
      rows.add(text);
    }
    return rows;
  }

  static List<Map<String, String>> events(String where) {
    return query(db, "select * from usage_events where " + where);
  }

  /** usage_daily of {@code day}, in the export's order. */
  static List<Map<String, String>> daily(DatabaseSettings database, String where) {
    return query(database, "select * from usage_daily where " + where
        + " order by day, tenant_id, account_id nulls first, user_id nulls first, key_id nulls first, model");
  }

  static String[] admin(TestNode on) {
    return new String[] {"Authorization", "Bearer " + on.adminToken};
  }

  /** Triggers usage-daily and waits until that run succeeded: the run. */
  static JsonNode triggerAndAwait(TestNode on) {
    var triggered = ScheduledJobsTest.trigger(on, "usage-daily");
    assertThat(triggered.statusCode()).as(triggered.body()).isEqualTo(202);
    String slot = TestHttp.json(triggered).path("run").path("scheduled_for").asText();
    JsonNode[] run = new JsonNode[1];
    await(Duration.ofSeconds(20), () -> {
      JsonNode runs = TestHttp.json(on.adminHttp().get("/admin/jobs/usage-daily", admin(on))).path("runs");
      assertThat(runs.size()).isPositive();
      assertThat(runs.get(0).path("scheduled_for").asText()).isEqualTo(slot);
      assertThat(runs.get(0).path("outcome").asText()).isEqualTo("succeeded");
      run[0] = runs.get(0);
    });
    return run[0];
  }

  static HttpResponse<String> usage(String key, String query) {
    return node.publicHttp().get("/v1/usage" + query, "Authorization", "Bearer " + key);
  }

  static String figures(JsonNode row) {
    return row.path("requests").asLong() + " " + row.path("tokens_in").asLong() + " " + row.path("tokens_out").asLong()
        + " " + row.path("cached_tokens_in").asLong() + " " + row.path("cost_micro_usd").asLong() + " "
        + row.path("unpriced_requests").asLong() + " " + row.path("compute_ms").asLong();
  }

  static List<String> rows(JsonNode report, String group) {
    List<String> rows = new ArrayList<>();
    report.path("rows").forEach(r -> rows.add(r.path(group).asText("null") + ": " + figures(r)));
    return rows;
  }

  /** Today's call as the figures string. */
  static String todaysCall() {
    Map<String, String> e = events("request_id = 'req-views-today'").get(0);
    long cost = e.get("cost_micro_usd") == null ? 0 : Long.parseLong(e.get("cost_micro_usd"));
    return "1 " + e.get("tokens_in") + " " + e.get("tokens_out") + " " + e.get("cached_tokens_in") + " " + cost + " "
        + (e.get("cost_micro_usd") == null ? 1 : 0) + " " + e.get("total_ms");
  }

  @Test
  void theJobRollsUpEachCompleteDayOfEveryTenantAndASecondTriggerChangesNothing() {
    assertThat(firstRun.path("counts").path("days").asLong()).isEqualTo(2);
    assertThat(firstRun.path("counts").path("rows").asLong()).isEqualTo(6);
    List<Map<String, String>> rolled = daily(db, "true");
    assertThat(rolled).extracting(r -> r.get("day") + " " + r.get("tenant_id") + " " + r.get("account_id") + " "
        + r.get("key_id") + " " + r.get("model") + ": " + r.get("requests") + " " + r.get("tokens_in") + " "
        + r.get("tokens_out") + " " + r.get("cached_tokens_in") + " " + r.get("cost_micro_usd") + " "
        + r.get("unpriced_requests") + " " + r.get("compute_ms")).containsExactly(
        D2 + " views-a acct_1 k_acct mock: 1 10 5 1 100 0 20",
        D2 + " views-a acct_2 k_other big: 1 20 10 0 0 1 30",
        D2 + " views-b acct_b k_b mock: 1 1000 1000 0 9999 0 99",
        D1 + " views-a null k_plain mock: 1 5 5 0 50 0 10",
        D1 + " views-a acct_1 k_acct mock: 1 30 15 0 300 0 40",
        D1 + " views-b acct_b k_b mock: 1 1000 1000 0 9999 0 99");

    // The slot is taken: a second trigger answers the same run and runs nothing.
    var again = ScheduledJobsTest.trigger(node, "usage-daily");
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(TestHttp.json(again).path("started").asBoolean()).isFalse();
    assertThat(TestHttp.json(again).path("run").path("scheduled_for").asText())
        .isEqualTo(firstRun.path("scheduled_for").asText());
    assertThat(daily(db, "true")).isEqualTo(rolled);
  }

  @Test
  void aKeyWithoutAnAccountSeesItsTenantsUsageByDayModelAndKeyAndNoOtherTenants() {
    var byDay = usage(PLAIN, "?from=" + D2 + "&to=" + TODAY + "&group_by=day");
    assertThat(byDay.statusCode()).as(byDay.body()).isEqualTo(200);
    JsonNode report = TestHttp.json(byDay);
    assertThat(report.path("from").asText()).isEqualTo(D2.toString());
    assertThat(report.path("to").asText()).isEqualTo(TODAY.toString());
    assertThat(report.path("group_by").asText()).isEqualTo("day");
    assertThat(report.has("account_id")).isFalse();
    String today = todaysCall();
    // Rolled-up days from usage_daily, today from usage_events; views-b's 1000s never appear.
    assertThat(rows(report, "day")).containsExactly(
        D2 + ": 2 30 15 1 100 1 50",
        D1 + ": 2 35 20 0 350 0 50",
        TODAY + ": " + today);
    long todayCost = Long.parseLong(today.split(" ")[4]);
    assertThat(report.path("totals").path("requests").asLong()).isEqualTo(5);
    assertThat(report.path("totals").path("cost_micro_usd").asLong()).isEqualTo(450 + todayCost);
    // USD with the micro-USD's six decimals, written as a plain number.
    assertThat(byDay.body()).contains("\"cost_micro_usd\":100,\"cost_usd\":0.000100,")
        .contains("\"cost_usd\":" + java.math.BigDecimal.valueOf(450 + todayCost, 6).toPlainString() + ",");

    JsonNode byModel = TestHttp.json(usage(PLAIN, "?from=" + D2 + "&to=" + D1 + "&group_by=model"));
    assertThat(rows(byModel, "model")).containsExactly("big: 1 20 10 0 0 1 30", "mock: 3 45 25 1 450 0 70");
    JsonNode byKey = TestHttp.json(usage(PLAIN, "?from=" + D2 + "&to=" + D1 + "&group_by=key"));
    assertThat(rows(byKey, "key_id")).containsExactly(
        "k_acct: 2 40 20 1 400 0 60", "k_other: 1 20 10 0 0 1 30", "k_plain: 1 5 5 0 50 0 10");

    // Without from and to: the last 30 days through today.
    JsonNode recent = TestHttp.json(usage(PLAIN, ""));
    assertThat(recent.path("from").asText()).isEqualTo(TODAY.minusDays(29).toString());
    assertThat(recent.path("to").asText()).isEqualTo(TODAY.toString());
    assertThat(recent.path("totals")).isEqualTo(report.path("totals"));

    // The other tenant sees its own usage only.
    JsonNode other = TestHttp.json(usage(OTHER, "?from=" + D2 + "&to=" + TODAY));
    assertThat(rows(other, "day")).containsExactly(D2 + ": 1 1000 1000 0 9999 0 99", D1 + ": 1 1000 1000 0 9999 0 99");
  }

  @Test
  void aKeyWithAnAccountSeesOnlyItsAccountsUsage() {
    JsonNode report = TestHttp.json(usage(ACCOUNT, "?from=" + D2 + "&to=" + TODAY + "&group_by=key"));
    assertThat(report.path("account_id").asText()).isEqualTo("acct_1");
    assertThat(rows(report, "key_id")).containsExactly("k_acct: " + sum("2 40 20 1 400 0 60", todaysCall()));
    assertThat(report.path("totals").path("requests").asLong()).isEqualTo(3);
  }

  /** Two figures strings added up. */
  static String sum(String a, String b) {
    String[] x = a.split(" ");
    String[] y = b.split(" ");
    List<String> out = new ArrayList<>();
    for (int i = 0; i < x.length; i++) {
      out.add(Long.toString(Long.parseLong(x[i]) + Long.parseLong(y[i])));
    }
    return String.join(" ", out);
  }

  @Test
  void theAdminReportIsTheWholeTenantsAndAnUnknownTenantIs404() {
    var admin = node.adminHttp().get("/admin/tenants/views-a/usage?from=" + D2 + "&to=" + TODAY, admin(node));
    assertThat(admin.statusCode()).as(admin.body()).isEqualTo(200);
    JsonNode tenant = TestHttp.json(usage(PLAIN, "?from=" + D2 + "&to=" + TODAY));
    assertThat(TestHttp.json(admin)).isEqualTo(tenant);

    var unknown = node.adminHttp().get("/admin/tenants/no-such/usage", admin(node));
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(unknown.headers().firstValue("content-type")).contains("application/problem+json");
    assertThat(TestHttp.json(unknown).path("request_id").asText()).isNotBlank();
    assertThat(node.adminHttp().get("/admin/tenants/views-a/usage").statusCode()).isEqualTo(401);
  }

  @Test
  void theExportOfADayIsItsUsageDailyRowsAsNdjsonAndAsCsv() throws IOException {
    List<Map<String, String>> expected = daily(db, "day = '" + D2 + "'");
    assertThat(expected).hasSize(3);

    var ndjson = node.adminHttp().get("/admin/usage/export?date=" + D2 + "&format=ndjson", admin(node));
    assertThat(ndjson.statusCode()).as(ndjson.body()).isEqualTo(200);
    assertThat(ndjson.headers().firstValue("content-type")).contains("application/x-ndjson");
    // Streamed as it is read, not one body of a known length.
    assertThat(ndjson.headers().firstValue("transfer-encoding")).contains("chunked");
    assertThat(ndjson.headers().firstValue("content-disposition")).hasValueSatisfying(v ->
        assertThat(v).contains("usage-" + D2 + ".ndjson"));
    List<Map<String, String>> lines = new ArrayList<>();
    for (String line : ndjson.body().split("\n")) {
      JsonNode json = dev.atrium.core.Json.MAPPER.readTree(line);
      Map<String, String> row = new LinkedHashMap<>();
      json.properties().forEach(field ->
          row.put(field.getKey(), field.getValue().isNull() ? null : field.getValue().asText()));
      lines.add(row);
    }
    assertThat(ndjson.body()).endsWith("\n");
    assertThat(lines).isEqualTo(expected);

    var csv = node.adminHttp().get("/admin/usage/export?date=" + D2 + "&format=csv", admin(node));
    assertThat(csv.statusCode()).isEqualTo(200);
    assertThat(csv.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/csv"));
    List<Map<String, String>> records = new ArrayList<>();
    try (CSVParser parser = CSVParser.parse(new StringReader(csv.body()),
        CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get())) {
      assertThat(parser.getHeaderNames()).containsExactlyElementsOf(expected.get(0).keySet());
      for (CSVRecord record : parser) {
        Map<String, String> row = new LinkedHashMap<>();
        parser.getHeaderNames().forEach(h -> row.put(h, record.get(h).isEmpty() ? null : record.get(h)));
        records.add(row);
      }
    }
    assertThat(records).isEqualTo(expected);

    // A day not rolled up (today) has no rows: the header alone.
    var empty = node.adminHttp().get("/admin/usage/export?date=" + TODAY + "&format=csv", admin(node));
    assertThat(empty.body().strip()).isEqualTo(String.join(",", expected.get(0).keySet()));
  }

  @Test
  void badParametersAre400ProblemJsonNamingTheParameter() {
    Map<String, String> publicCases = new LinkedHashMap<>();
    publicCases.put("?from=yesterday", "from");
    publicCases.put("?to=2026-13-01", "to");
    publicCases.put("?from=+12026-01-01", "from");
    publicCases.put("?from=" + TODAY + "&to=" + D1, "from");
    publicCases.put("?from=" + TODAY.minusDays(366) + "&to=" + TODAY, "from");
    publicCases.put("?group_by=week", "group_by");
    publicCases.forEach((query, param) -> {
      var r = usage(PLAIN, query);
      assertThat(r.statusCode()).as(query).isEqualTo(400);
      assertThat(r.headers().firstValue("content-type")).contains("application/problem+json");
      assertThat(TestHttp.json(r).path("param").asText()).as(query).isEqualTo(param);
      assertThat(TestHttp.json(r).path("request_id").asText()).isNotBlank();
    });
    // 366 days is the most a report covers.
    assertThat(usage(PLAIN, "?from=" + TODAY.minusDays(365) + "&to=" + TODAY).statusCode()).isEqualTo(200);

    Map<String, String> exportCases = Map.of(
        "", "date", "?date=2026-02-30&format=csv", "date", "?date=" + D2, "format", "?date=" + D2 + "&format=xml",
        "format");
    exportCases.forEach((query, param) -> {
      var r = node.adminHttp().get("/admin/usage/export" + query, admin(node));
      assertThat(r.statusCode()).as(query).isEqualTo(400);
      assertThat(r.headers().firstValue("content-type")).contains("application/problem+json");
      assertThat(TestHttp.json(r).path("param").asText()).as(query).isEqualTo(param);
    });
    var admin = node.adminHttp().get("/admin/tenants/views-a/usage?group_by=tenant", admin(node));
    assertThat(admin.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(admin).path("param").asText()).isEqualTo("group_by");
    assertThat(node.publicHttp().get("/v1/usage").statusCode()).isEqualTo(401);
    // A tenant open to anonymous default-class requests shows usage to key holders only.
    var anonymous = node.publicHttp().get("/v1/usage", "x-tenant-id", "views-b");
    assertThat(anonymous.statusCode()).isEqualTo(403);
    assertThat(TestHttp.json(anonymous).path("code").asText()).isEqualTo("usage_needs_key");
  }
}
