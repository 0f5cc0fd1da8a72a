package dev.atrium.core.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The service role is fenced by row-level security and cannot take the fence down; the
 * system role sees every tenant. Checked on a throwaway table with the policy every
 * tenant table gets.
 */
class RowLevelSecurityTest {
  static DatabaseSettings db;
  static ActorTestKit testKit;

  @BeforeAll
  static void setUp() throws SQLException {
    db = TestDatabase.fresh("rls");
    try (Connection owner = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
         Statement s = owner.createStatement()) {
      s.execute("create table rls_probe (tenant_id text not null, item text not null)");
      s.execute("alter table rls_probe enable row level security");
      s.execute("alter table rls_probe force row level security");
      s.execute("create policy tenant_isolation on rls_probe using (tenant_id = atrium_current_tenant()) "
          + "with check (tenant_id = atrium_current_tenant())");
      s.execute("insert into rls_probe values ('a', 'a-1'), ('a', 'a-2'), ('b', 'b-1')");
    }
    testKit = ActorTestKit.create(TestConfig.forDatabase(db));
  }

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
  }

  static Connection service() throws SQLException {
    return DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword());
  }

  @Test
  void serviceRoleSeesNothingWithoutATenant() throws SQLException {
    try (Connection c = service()) {
      assertThat(MigrationsTest.strings(c, "select item from rls_probe")).isEmpty();
    }
  }

  @Test
  void serviceRoleSeesOnlyItsTenantsRows() throws SQLException {
    try (Connection c = service()) {
      c.setAutoCommit(false);
      c.createStatement().execute("select set_config('atrium.tenant_id', 'a', true)");
      assertThat(MigrationsTest.strings(c, "select item from rls_probe order by item")).containsExactly("a-1", "a-2");
      // Even a query that asks for another tenant's rows by name gets none.
      assertThat(MigrationsTest.strings(c, "select item from rls_probe where tenant_id = 'b'")).isEmpty();
      c.rollback();
    }
  }

  @Test
  void serviceRoleCannotWriteAnotherTenantsRows() throws SQLException {
    try (Connection c = service()) {
      c.setAutoCommit(false);
      c.createStatement().execute("select set_config('atrium.tenant_id', 'a', true)");
      assertThatThrownBy(() -> c.createStatement().execute("insert into rls_probe values ('b', 'sneaky')"))
          .hasMessageContaining("row-level security");
      c.rollback();
      c.createStatement().execute("select set_config('atrium.tenant_id', 'a', true)");
      assertThat(c.createStatement().executeUpdate("update rls_probe set item = 'x' where tenant_id = 'b'")).isZero();
      c.rollback();
    }
  }

  @Test
  void serviceRoleCannotTurnRowLevelSecurityOff() throws SQLException {
    try (Connection c = service()) {
      assertThatThrownBy(() -> c.createStatement().execute("alter table rls_probe disable row level security"))
          .hasMessageContaining("must be owner");
      assertThatThrownBy(() -> c.createStatement().execute("drop policy tenant_isolation on rls_probe"))
          .hasMessageContaining("must be owner");
      c.createStatement().execute("set row_security = off");
      assertThatThrownBy(() -> c.createStatement().executeQuery("select * from rls_probe"))
          .hasMessageContaining("row-level security");
      assertThatThrownBy(() -> c.createStatement().execute("set role atrium_system"))
          .hasMessageContaining("permission denied");
    }
  }

  @Test
  void systemRoleBypassesRowLevelSecurity() throws SQLException {
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      assertThat(MigrationsTest.strings(c, "select item from rls_probe order by item")).containsExactly("a-1", "a-2", "b-1");
    }
  }

  @Test
  void theDatabaseHelperScopesEveryTransactionToItsTenant() throws Exception {
    Database database = DatabaseExtension.get(testKit.system()).database();
    List<String> a = database.inTenant("a", dsl -> dsl.select(DSL.field("item", String.class))
        .from(DSL.table("rls_probe")).orderBy(DSL.field("item")).fetch(0, String.class))
        .toCompletableFuture().get();
    List<String> b = database.inTenant("b", dsl -> dsl.select(DSL.field("item", String.class))
        .from(DSL.table("rls_probe")).fetch(0, String.class))
        .toCompletableFuture().get();
    assertThat(a).containsExactly("a-1", "a-2");
    assertThat(b).containsExactly("b-1");
    // set_config(..., true) ends with the transaction: a pooled connection forgets the tenant.
    List<String> none = database.inTenant("nobody", dsl -> dsl.select(DSL.field("item", String.class))
        .from(DSL.table("rls_probe")).fetch(0, String.class))
        .toCompletableFuture().get();
    assertThat(none).isEmpty();
    assertThat(database.ping().toCompletableFuture().get()).isTrue();
  }
}
