package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.db.Migrations;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database written by the main before owners had kinds (commit 6d65a72: sessions and runs
 * created over HTTP by API keys, owned by {@code owner_key_id}; the committed fixture holds
 * its journal, read tables and projection offsets at schema V16), migrated to V17 by a node
 * of today: every session and run answers its key as it did then, lists included, and no
 * other key of the tenant sees it. The journal's events are read through the Jackson
 * migrations, the rows through V17; the projections, caught up before, rewrite nothing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OwnerMigrationTest {
  static final String FIXTURE = "/fixtures/owner-journal-v1.json";
  static final List<String> TABLES = List.of("event_journal", "event_tag", "snapshot", "chat_sessions", "runs",
      "pekko_projection_offset_store", "pekko_projection_management");
  static final String ALPHA = "alpha-key-" + UUID.randomUUID();
  static final String ALPHA2 = "alpha2-key-" + UUID.randomUUID();
  static final String BETA = "beta-key-" + UUID.randomUUID();
  static final Map<String, String> KEYS = Map.of("k_alpha", ALPHA, "k_alpha2", ALPHA2, "k_beta", BETA);
  /** The other key of the same tenant, which must not see the key's sessions and runs. */
  static final Map<String, String> NEIGHBOUR = Map.of("k_alpha", "k_alpha2", "k_alpha2", "k_alpha");

  @TempDir static Path tenantsDir;
  static JsonNode fixture;
  static DatabaseSettings db;
  static MockLlm mock;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    try (InputStream in = OwnerMigrationTest.class.getResourceAsStream(FIXTURE)) {
      fixture = new ObjectMapper().readTree(in);
    }
    assertThat(fixture.path("baseline_commit").asText()).isEqualTo("6d65a72");
    db = TestDatabase.create("owner_migration");
    Migrations.migrateTo(db, "16");
    load(db, fixture.path("tables"));
    mock = MockLlm.startLocal();
    node = TestNode.start("owner-migration", db, tenants(mock.baseUrl()), Map.of());
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (mock != null) {
      mock.close();
    }
  }

  /** The fixture's tenants and key ids, with new secrets; sessions never idle out (the fixture ages). */
  static TenantRegistry tenants(String mockBaseUrl) throws Exception {
    Files.writeString(tenantsDir.resolve("alpha.json"), """
        {"id": "alpha", "display_name": "Alpha",
         "api_keys": [{"id": "k_alpha", "sha256": "%s", "tier": "PAID", "account": "a1"},
                      {"id": "k_alpha2", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 1}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}},
         "sessions": {"max_history_messages": 50, "idle_expiry_days": 3650}}
        """.formatted(ApiKeys.sha256(ALPHA), ApiKeys.sha256(ALPHA2), mockBaseUrl));
    Files.writeString(tenantsDir.resolve("beta.json"), """
        {"id": "beta", "display_name": "Beta",
         "api_keys": [{"id": "k_beta", "sha256": "%s", "tier": "PAID"}],
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}},
         "sessions": {"idle_expiry_days": 3650}}
        """.formatted(ApiKeys.sha256(BETA)));
    return TenantRegistry.load(tenantsDir, false);
  }

  /** Each table's rows as the old main left them (system role, past row-level security). */
  static void load(DatabaseSettings db, JsonNode tables) throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      c.setAutoCommit(false);
      for (String table : TABLES) {
        try (var st = c.prepareStatement(
            "insert into " + table + " select * from jsonb_populate_recordset(null::" + table + ", ?::jsonb)")) {
          st.setString(1, tables.path(table).toString());
          assertThat(st.executeUpdate()).as(table).isEqualTo(tables.path(table).size());
        }
      }
      c.commit();
    }
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
         var st = c.createStatement()) {
      st.execute("select setval(pg_get_serial_sequence('event_journal', 'ordering'), "
          + "(select coalesce(max(ordering), 0) + 1 from event_journal), false)");
    }
  }

  static String auth(String keyId) {
    return "Bearer " + KEYS.get(keyId);
  }

  /** A list row as today's code shows it: the old {@code owner_key_id} is now that key as an owner. */
  static JsonNode keyOwners(JsonNode list) {
    JsonNode copy = list.deepCopy();
    for (JsonNode row : copy.path("data")) {
      JsonNode keyId = ((ObjectNode) row).remove("owner_key_id");
      ((ObjectNode) row).putObject("owner").put("kind", "key").put("id", keyId.asText());
    }
    return copy;
  }

  @Test
  void everySessionAnswersItsKeyAsBeforeAndNoOtherKeyOfTheTenant() {
    assertThat(fixture.path("sessions")).hasSize(5);
    for (JsonNode recorded : fixture.path("sessions")) {
      String id = recorded.path("session_id").asText();
      String keyId = recorded.path("key_id").asText();
      var shown = http.get("/v1/chat/sessions/" + id, "Authorization", auth(keyId));
      assertThat(shown.statusCode()).as(id).isEqualTo(recorded.path("status_code").asInt());
      if (shown.statusCode() != 200) {
        continue;
      }
      assertThat(TestHttp.json(shown)).as(id).isEqualTo(recorded.path("session"));
      assertThat(TestHttp.json(http.get("/v1/chat/sessions/" + id + "/messages", "Authorization", auth(keyId))))
          .as(id).isEqualTo(recorded.path("messages"));
      if (NEIGHBOUR.containsKey(keyId)) {
        String other = NEIGHBOUR.get(keyId);
        assertThat(http.get("/v1/chat/sessions/" + id, "Authorization", auth(other)).statusCode()).as(id).isEqualTo(404);
        assertThat(http.get("/v1/chat/sessions/" + id + "/messages", "Authorization", auth(other)).statusCode())
            .as(id).isEqualTo(404);
      }
    }
  }

  @Test
  void eachKeysSessionListIsTheOneItHadWithItsKeyAsTheOwner() {
    for (String keyId : List.of("k_alpha", "k_alpha2", "k_beta")) {
      JsonNode expected = keyOwners(fixture.path("session_lists").path(keyId));
      assertThat(expected.path("data")).as(keyId).isNotEmpty();
      assertThat(TestHttp.json(http.get("/v1/chat/sessions", "Authorization", auth(keyId)))).as(keyId)
          .isEqualTo(expected);
    }
    // The admin filters by the same key.
    JsonNode admin = TestHttp.json(node.adminHttp().get("/admin/tenants/alpha/sessions?key_id=k_alpha2",
        "Authorization", "Bearer " + node.adminToken));
    List<String> listed = new ArrayList<>();
    admin.path("data").forEach(row -> listed.add(row.path("id").asText()));
    assertThat(listed).containsExactlyInAnyOrderElementsOf(sessionsOf("k_alpha2"));
  }

  static List<String> sessionsOf(String keyId) {
    List<String> ids = new ArrayList<>();
    for (JsonNode s : fixture.path("sessions")) {
      if (s.path("key_id").asText().equals(keyId)) {
        ids.add(s.path("session_id").asText());
      }
    }
    return ids;
  }

  @Test
  void everyRunAnswersItsKeyAsBeforeAndItsListHasItAndNoOtherKeySeesIt() {
    assertThat(fixture.path("runs")).hasSize(2);
    for (JsonNode recorded : fixture.path("runs")) {
      String id = recorded.path("run_id").asText();
      String keyId = recorded.path("key_id").asText();
      assertThat(TestHttp.json(http.get("/v1/runs/" + id, "Authorization", auth(keyId)))).as(id)
          .isEqualTo(recorded.path("run"));
      assertThat(http.get("/v1/runs/" + id, "Authorization", auth(NEIGHBOUR.get(keyId))).statusCode()).as(id)
          .isEqualTo(404);
      assertThat(http.postJson("/v1/runs/" + id + "/cancel", "{}", "Authorization", auth(NEIGHBOUR.get(keyId)))
          .statusCode()).as(id).isEqualTo(404);
      assertThat(TestHttp.json(http.get("/v1/runs", "Authorization", auth(keyId)))).as(keyId)
          .isEqualTo(keyOwners(fixture.path("run_lists").path(keyId)));
    }
  }

  @Test
  void theRowsOwnersAreTheirKeysAndTheOldColumnIsGone() throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
         var st = c.createStatement()) {
      for (String table : List.of("chat_sessions", "runs")) {
        JsonNode rows = fixture.path("tables").path(table);
        for (JsonNode row : rows) {
          String key = table.equals("runs") ? "run_id" : "session_id";
          try (ResultSet rs = st.executeQuery("select owner_kind, owner_id from " + table + " where " + key + " = '"
              + row.path(key).asText() + "'")) {
            assertThat(rs.next()).as(table).isTrue();
            assertThat(rs.getString(1) + ":" + rs.getString(2)).isEqualTo("key:" + row.path("owner_key_id").asText());
          }
        }
        try (ResultSet rs = st.executeQuery("select count(*) from information_schema.columns where table_name = '"
            + table + "' and column_name = 'owner_key_id'")) {
          rs.next();
          assertThat(rs.getInt(1)).as(table).isZero();
        }
      }
    }
  }

  /** Last: it adds a turn to a session the other tests compare with the fixture. */
  @Test
  @Order(Integer.MAX_VALUE)
  void aMigratedSessionTakesANewTurnFromItsKey() {
    JsonNode recorded = fixture.path("sessions").get(0);
    String id = recorded.path("session_id").asText();
    String keyId = recorded.path("key_id").asText();
    var turn = http.postJson("/v1/chat/sessions/" + id + "/messages", "{\"content\": \"after the upgrade\"}",
        "Authorization", auth(keyId));
    assertThat(turn.statusCode()).as(turn.body()).isEqualTo(200);
    Eventually.await(Duration.ofSeconds(20), () -> {
      JsonNode list = TestHttp.json(http.get("/v1/chat/sessions", "Authorization", auth(keyId)));
      JsonNode row = null;
      for (JsonNode s : list.path("data")) {
        row = s.path("id").asText().equals(id) ? s : row;
      }
      assertThat(row).isNotNull();
      assertThat(row.path("message_count").asInt()).isEqualTo(recorded.path("session").path("message_count").asInt() + 2);
      assertThat(row.path("owner").path("id").asText()).isEqualTo(keyId);
    });
  }
}
