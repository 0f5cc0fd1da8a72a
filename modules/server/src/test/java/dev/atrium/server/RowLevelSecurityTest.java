package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * Row-level security on every table with a tenant_id, read from the catalogue after all
 * migrations (see {@link RowLevelSecurityAudit}): it covers the tables later migrations add
 * without anyone listing them.
 */
class RowLevelSecurityTest {

  @Test
  void everyTableWithATenantIdIsFencedAfterAllMigrations() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("rls_catalogue");
    try (Connection owner = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      // The audit finds tables itself; these only show that it finds the ones we know of.
      assertThat(RowLevelSecurityAudit.relations(owner)).extracting(RowLevelSecurityAudit.Relation::name)
          .contains("chat_sessions", "runs", "documents", "rag_chunks", "usage_events", "usage_daily", "response_cache");
    }
    assertThat(RowLevelSecurityAudit.problems(db)).isEmpty();
    try (Connection owner = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      // The journal holds every tenant's events without a tenant_id: only the system role reads it.
      assertThat(RowLevelSecurityAudit.readableWithoutTenant(owner, db.serviceUser()))
          .doesNotContain("event_journal", "event_tag", "snapshot", "durable_state")
          .allSatisfy(name -> assertThat(RowLevelSecurityAudit.SHARED_TABLES).containsKey(name));
    }
  }

  @Test
  void findsATableThatIsNotFenced() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("rls_catalogue_bad");
    try (Connection owner = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
        Statement s = owner.createStatement()) {
      s.execute("create table later_notes (id bigserial primary key, tenant_id text not null, body text not null)");
      s.execute("create table half_fenced (tenant_id text not null, n integer not null check (n > 100),"
          + " kind text not null check (kind in ('key', 'user')))");
      s.execute("alter table half_fenced enable row level security");
      s.execute("create policy tenant_isolation on half_fenced using (tenant_id = atrium_current_tenant())");
      s.execute("create table wide_open (tenant_id text not null, made_at timestamptz not null, ref uuid not null)");
      s.execute("alter table wide_open enable row level security");
      s.execute("alter table wide_open force row level security");
      s.execute("create policy tenant_isolation on wide_open using (tenant_id = atrium_current_tenant()) "
          + "with check (tenant_id = atrium_current_tenant())");
      s.execute("create policy everyone on wide_open for select using (true)");
      // Fenced right, with a parent row it does not have: the probe insert needs none.
      s.execute("create table child_notes (tenant_id text not null, note_id bigint not null references later_notes (id),"
          + " tags text[] not null, score double precision not null)");
      s.execute("alter table child_notes enable row level security");
      s.execute("alter table child_notes force row level security");
      s.execute("create policy tenant_isolation on child_notes using (tenant_id = atrium_current_tenant()) "
          + "with check (tenant_id = atrium_current_tenant())");
      s.execute("create view every_session as select tenant_id, session_id from chat_sessions");
      s.execute("grant select on every_session to " + db.serviceUser());
      // Every tenant's rows and no tenant_id: row-level security cannot fence it, so the service role must not read it.
      s.execute("create table all_tenants_log (entry text not null)");
      s.execute("grant select on all_tenants_log to " + db.serviceUser());
    }
    assertThat(String.join("\n", RowLevelSecurityAudit.problems(db)))
        .contains("later_notes: row-level security is not enabled")
        .contains("later_notes: row-level security is not forced")
        .contains("later_notes: no tenant policy")
        .contains("later_notes: the service role reads 1 row(s) without atrium.tenant_id set")
        .contains("half_fenced: row-level security is not forced")
        .doesNotContain("half_fenced: row-level security is not enabled")
        .doesNotContain("half_fenced: the service role reads")
        .contains("wide_open: policy everyone lets the service role past the tenant fence")
        .contains("wide_open: the service role reads 1 row(s) without atrium.tenant_id set")
        .contains("every_session: the service role reads 1 row(s) without atrium.tenant_id set")
        .contains("all_tenants_log: has no tenant_id, so row-level security cannot fence it, yet the service role may"
            + " read it")
        .doesNotContain("event_journal")
        .doesNotContain("cannot insert")
        .doesNotContain("child_notes")
        .doesNotContain("chat_sessions:");
  }
}
