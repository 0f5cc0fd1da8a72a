package dev.atrium.core.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one schema, on a real PostgreSQL 15 with pgvector. */
class MigrationsTest {

  static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (ResultSet rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  @Test
  void migratesAnEmptyDatabaseAndIsHarmlessTheSecondTime() throws SQLException {
    DatabaseSettings db = TestDatabase.create("migrations");

    var first = Migrations.migrate(db);
    var second = Migrations.migrate(db);

    assertThat(first.migrationsExecuted).isGreaterThanOrEqualTo(3);
    assertThat(second.migrationsExecuted).isZero();
    assertThat(second.success).isTrue();
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      assertThat(strings(c, "select tablename from pg_tables where schemaname = 'public'"))
          .contains("event_journal", "event_tag", "snapshot", "durable_state",
              "pekko_projection_offset_store", "pekko_projection_management");
    }
  }

  @Test
  void createsTheServiceAndSystemRolesWithTheRightPowers() throws SQLException {
    DatabaseSettings db = TestDatabase.fresh("roles");
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      assertThat(strings(c, "select rolname || ':' || rolsuper || ':' || rolbypassrls from pg_roles "
          + "where rolname in ('atrium_service', 'atrium_system') order by rolname"))
          .containsExactly("atrium_service:false:false", "atrium_system:false:true");
    }
  }

  @Test
  void theServiceRoleNeitherReadsNorRewritesTheJournal() throws SQLException {
    DatabaseSettings db = TestDatabase.fresh("journal_grants");
    try (Connection service = DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword())) {
      // Every tenant's events, snapshots and entity states, in rows row-level security cannot fence (V18).
      for (String table : java.util.List.of("event_journal", "event_tag", "snapshot", "durable_state")) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                service.createStatement().executeQuery("select count(*) from " + table))
            .as(table).hasMessageContaining("permission denied");
      }
      org.assertj.core.api.Assertions.assertThatThrownBy(() ->
              service.createStatement().executeUpdate("delete from event_journal"))
          .hasMessageContaining("permission denied");
    }
    try (Connection system = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      assertThat(system.createStatement().executeQuery("select count(*) from event_journal").next()).isTrue();
      assertThat(system.createStatement().executeQuery("select count(*) from durable_state").next()).isTrue();
    }
  }

  @Test
  void jobRunsIsASystemTableWithOneRowPerSlot() throws SQLException {
    DatabaseSettings db = TestDatabase.fresh("job_runs_grants");
    try (Connection service = DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() ->
              service.createStatement().executeQuery("select count(*) from job_runs"))
          .hasMessageContaining("permission denied");
    }
    try (Connection system = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      String claim = "insert into job_runs (job, scheduled_for, trigger, node, started_at, outcome) "
          + "values ('probe', '2026-12-01T03:00:00Z', 'schedule', 'n', now(), 'running') on conflict do nothing";
      assertThat(system.createStatement().executeUpdate(claim)).isEqualTo(1);
      assertThat(system.createStatement().executeUpdate(claim)).isZero();
    }
  }

  @Test
  void vectorExtensionWorks() throws SQLException {
    DatabaseSettings db = TestDatabase.fresh("pgvector");
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      // The migration created it; creating it again is harmless.
      c.createStatement().execute("CREATE EXTENSION IF NOT EXISTS vector");
      assertThat(strings(c, "select extversion from pg_extension where extname = 'vector'")).containsExactly("0.8.0");
      assertThat(strings(c, "select '[1,2,3]'::vector <-> '[1,2,5]'::vector")).containsExactly("2");
      c.createStatement().execute("create table vec_probe (id int primary key, embedding vector(3))");
      c.createStatement().execute("create index on vec_probe using hnsw (embedding vector_cosine_ops)");
      c.createStatement().execute("insert into vec_probe values (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]')");
      assertThat(strings(c, "select id from vec_probe order by embedding <=> '[1,0,0]' limit 2"))
          .containsExactly("1", "3");
    }
  }
}
