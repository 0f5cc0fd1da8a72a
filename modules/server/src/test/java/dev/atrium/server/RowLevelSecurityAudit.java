package dev.atrium.server;

import dev.atrium.core.db.DatabaseSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Reads PostgreSQL's catalogue and finds every relation with a {@code tenant_id} column
 * that row-level security does not fence: not enabled, not forced (the owner would see
 * everything), no tenant policy, a permissive policy that lets more through, or rows the
 * service role reads without {@code atrium.tenant_id} set. Tables are discovered, never
 * listed, so a table a later migration adds is audited the day it lands.
 *
 * <p>The read check is real: in one transaction that is rolled back, one row per table is
 * inserted as the owner (foreign keys, triggers and CHECK constraints off, so no parent
 * rows or allowed values are needed), then the session becomes the service role
 * ({@code SET ROLE}: its privileges and policies, as over its own login) and counts each
 * relation with no tenant set and with another tenant set (zero rows or an error), and with
 * the row's tenant set (the row is there: the check can see rows at all). The owner must
 * be able to take the service role: the tests' owner is the superuser.
 */
final class RowLevelSecurityAudit {
  static final String PROBE_TENANT = "rls_probe";

  /** Relations with a tenant_id that are deliberately not under row-level security, each with why. */
  static final Map<String, String> EXCEPTIONS = Map.of();

  /**
   * Tables without a tenant_id that the service role may read, each with why: they hold no
   * tenant's data. Any other such table is a problem (a table of every tenant's rows that
   * row-level security cannot fence, like the journal: V18 revoked the service role's SELECT).
   */
  static final Map<String, String> SHARED_TABLES = Map.of(
      "flyway_schema_history", "the migrations applied: versions and checksums, no tenant data",
      "pekko_projection_offset_store", "projection offsets by projection name and slice range, no tenant data",
      "pekko_projection_management", "projection pause flags by projection name and slice range, no tenant data");

  /** One relation with a tenant_id. */
  record Relation(String schema, String name, char kind, boolean partition, boolean enabled, boolean forced) {
    String qualified() {
      return quote(schema) + "." + quote(name);
    }

    String shown() {
      return schema.equals("public") ? name : schema + "." + name;
    }
  }

  private RowLevelSecurityAudit() {}

  static List<Relation> relations(Connection owner) throws SQLException {
    List<Relation> relations = new ArrayList<>();
    try (Statement s = owner.createStatement(); ResultSet rs = s.executeQuery("""
        select n.nspname, c.relname, c.relkind, c.relispartition, c.relrowsecurity, c.relforcerowsecurity
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
        where c.relkind in ('r', 'p', 'v', 'm', 'f')
          and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
        order by n.nspname, c.relname""")) {
      while (rs.next()) {
        relations.add(new Relation(rs.getString(1), rs.getString(2), rs.getString(3).charAt(0), rs.getBoolean(4),
            rs.getBoolean(5), rs.getBoolean(6)));
      }
    }
    return relations;
  }

  /** Tables and views outside the system schemas, without a tenant_id column, that {@code serviceRole} may SELECT. */
  static List<String> readableWithoutTenant(Connection owner, String serviceRole) throws SQLException {
    List<String> names = new ArrayList<>();
    try (var ps = owner.prepareStatement("""
        select case when n.nspname = 'public' then c.relname else n.nspname || '.' || c.relname end
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
          and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
          and not exists (select 1 from pg_attribute a
                          where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
          and has_table_privilege(?, c.oid, 'SELECT')
        order by 1""")) {
      ps.setString(1, serviceRole);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
    }
    return names;
  }

  /** What is wrong, one line per problem; empty when every relation with a tenant_id is fenced. */
  static List<String> problems(DatabaseSettings db) throws SQLException {
    List<String> problems = new ArrayList<>();
    try (Connection owner = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      readableWithoutTenant(owner, db.serviceUser()).stream()
          .filter(name -> !SHARED_TABLES.containsKey(name))
          .forEach(name -> problems.add(name + ": has no tenant_id, so row-level security cannot fence it, yet the "
              + "service role may read it (REVOKE SELECT ... FROM the service role, or list it in SHARED_TABLES with "
              + "why it holds no tenant's data)"));
      List<Relation> relations = relations(owner);
      for (Relation r : relations) {
        if (EXCEPTIONS.containsKey(r.shown())) {
          continue;
        }
        switch (r.kind()) {
          case 'r', 'p' -> catalogueProblems(owner, db.serviceUser(), r, problems);
          case 'm', 'f' -> problems.add(r.shown() + ": a " + (r.kind() == 'm' ? "materialized view" : "foreign table")
              + " with a tenant_id: row-level security cannot apply to it");
          default -> { } // views: the read check below says whether the service role sees rows through them
        }
      }
      // One transaction, rolled back at the end: the probe rows and dropped constraints never stay.
      owner.setAutoCommit(false);
      try (Statement s = owner.createStatement()) {
        // The probe rows need no parent rows: foreign keys are triggers, and replica mode skips
        // them; CHECK constraints (a column's allowed values) are dropped for the transaction.
        s.execute("set local session_replication_role = replica");
        for (Relation r : relations) {
          if (holdsRows(r)) {
            probe(owner, s, r, problems);
          }
        }
        // From here on the session is the service role, as its pool's connections are.
        s.execute("set local role " + quote(db.serviceUser()));
        for (Relation r : relations) {
          if (!EXCEPTIONS.containsKey(r.shown()) && r.kind() != 'f') {
            readProblems(s, r, problems);
          }
        }
      } finally {
        owner.rollback();
      }
    }
    return problems;
  }

  /** Tables that take an insert of their own (a partition gets its rows through its parent). */
  private static boolean holdsRows(Relation r) {
    return (r.kind() == 'r' && !r.partition()) || r.kind() == 'p';
  }

  private static void probe(Connection owner, Statement s, Relation r, List<String> problems) throws SQLException {
    List<String> checks = new ArrayList<>();
    try (var ps = owner.prepareStatement("select conname from pg_constraint where conrelid = ?::regclass and contype = 'c'")) {
      ps.setString(1, r.qualified());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          checks.add(rs.getString(1));
        }
      }
    }
    String insert = probeInsert(owner, r);
    s.execute("savepoint probe");
    try {
      for (String check : checks) {
        s.execute("alter table " + r.qualified() + " drop constraint " + quote(check));
      }
      s.execute(insert);
      s.execute("release savepoint probe");
    } catch (SQLException e) {
      s.execute("rollback to savepoint probe");
      problems.add(r.shown() + ": the audit cannot insert its probe row (" + e.getMessage().lines().findFirst()
          .orElse("") + "); teach RowLevelSecurityAudit.value this column's type");
    }
  }

  private static void catalogueProblems(Connection owner, String serviceRole, Relation r, List<String> problems)
      throws SQLException {
    if (!r.enabled()) {
      problems.add(r.shown() + ": row-level security is not enabled (ALTER TABLE ... ENABLE ROW LEVEL SECURITY)");
    }
    if (!r.forced()) {
      problems.add(r.shown() + ": row-level security is not forced, its owner reads every tenant "
          + "(ALTER TABLE ... FORCE ROW LEVEL SECURITY)");
    }
    boolean tenantPolicy = false;
    try (var ps = owner.prepareStatement("""
        select p.polname, p.polcmd, p.polpermissive,
               pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
               0 = any(p.polroles) or (select oid from pg_roles where rolname = ?) = any(p.polroles)
        from pg_policy p
        where p.polrelid = ?::regclass""")) {
      ps.setString(1, serviceRole);
      ps.setString(2, r.qualified());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String name = rs.getString(1);
          String command = rs.getString(2);
          boolean permissive = rs.getBoolean(3);
          String using = rs.getString(4);
          String check = rs.getString(5);
          boolean appliesToService = rs.getBoolean(6);
          boolean fencesReads = isTenantCondition(using);
          boolean fencesWrites = check == null ? fencesReads : isTenantCondition(check);
          if (command.equals("*") && permissive && appliesToService && fencesReads && fencesWrites) {
            tenantPolicy = true;
          } else if (permissive && appliesToService && !(fencesReads && fencesWrites)) {
            // Permissive policies are OR-ed: one that is not a tenant condition opens the table.
            problems.add(r.shown() + ": policy " + name + " lets the service role past the tenant fence (USING "
                + using + ", WITH CHECK " + check + ")");
          }
        }
      }
    }
    if (!tenantPolicy) {
      problems.add(r.shown() + ": no tenant policy for the service role (CREATE POLICY tenant_isolation ON ... USING "
          + "(tenant_id = atrium_current_tenant()) WITH CHECK (tenant_id = atrium_current_tenant()))");
    }
  }

  /** {@code tenant_id = atrium_current_tenant()}, as PostgreSQL prints it back. */
  static boolean isTenantCondition(String expression) {
    return expression != null
        && expression.replaceAll("[()\\s]", "").equals("tenant_id=atrium_current_tenant");
  }

  private static void readProblems(Statement service, Relation r, List<String> problems) throws SQLException {
    Long unset = count(service, r, null);
    if (unset != null && unset > 0) {
      problems.add(r.shown() + ": the service role reads " + unset + " row(s) without atrium.tenant_id set");
    }
    Long other = count(service, r, "rls_other_tenant");
    if (other != null && other > 0) {
      problems.add(r.shown() + ": the service role reads another tenant's row(s) (" + other + ")");
    }
    if (holdsRows(r)) {
      Long own = count(service, r, PROBE_TENANT);
      if (own != null && own == 0) {
        problems.add(r.shown() + ": the service role does not see its own tenant's probe row: the audit cannot tell "
            + "whether the fence holds");
      }
    }
  }

  /**
   * Rows the service role sees with {@code tenant} set for the moment (nothing set when null);
   * null when it may not read the relation at all.
   */
  private static Long count(Statement service, Relation r, String tenant) throws SQLException {
    service.execute("savepoint read");
    try {
      if (tenant != null) {
        service.execute("select set_config('atrium.tenant_id', '" + tenant + "', true)");
      }
      try (ResultSet rs = service.executeQuery("select count(*) from " + r.qualified())) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      return null; // permission denied: not readable, which is what the fence wants
    } finally {
      service.execute("rollback to savepoint read"); // the setting goes with it
    }
  }

  private static String probeInsert(Connection owner, Relation r) throws SQLException {
    StringJoiner columns = new StringJoiner(", ");
    StringJoiner values = new StringJoiner(", ");
    try (var ps = owner.prepareStatement("""
        select a.attname, format_type(a.atttypid, a.atttypmod), t.typname, t.typcategory, a.atttypmod, a.atttypid,
               a.attnotnull and not a.atthasdef and a.attidentity = '' and a.attgenerated = ''
        from pg_attribute a join pg_type t on t.oid = a.atttypid
        where a.attrelid = ?::regclass and a.attnum > 0 and not a.attisdropped
        order by a.attnum""")) {
      ps.setString(1, r.qualified());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String column = rs.getString(1);
          boolean needed = rs.getBoolean(7);
          if (!column.equals("tenant_id") && !needed) {
            continue;
          }
          String type = rs.getString(2);
          String value = column.equals("tenant_id")
              ? "'" + PROBE_TENANT + "'"
              : value(rs.getString(3), rs.getString(4), rs.getInt(5), rs.getLong(6));
          columns.add(quote(column));
          values.add("(" + value + ")::" + type);
        }
      }
    }
    return "insert into " + r.qualified() + " (" + columns + ") values (" + values + ")";
  }

  /** A value of a column's type, for a probe row. */
  static String value(String typeName, String category, int typmod, long typeOid) {
    return switch (typeName) {
      case "uuid" -> "gen_random_uuid()";
      case "bytea" -> "'\\x00'";
      case "json", "jsonb" -> "'{}'";
      case "bool" -> "false";
      case "inet", "cidr" -> "'192.0.2.1'";
      case "vector" -> "'[" + "1,".repeat(Math.max(typmod, 3) - 1) + "1]'";
      case "interval" -> "'1 second'";
      default -> switch (category) {
        case "S" -> "'probe'";
        case "N" -> "1";
        case "D" -> "now()";
        case "A" -> "'{}'";
        case "E" -> "(select enumlabel from pg_enum where enumtypid = " + typeOid + " order by enumsortorder limit 1)";
        default -> "null";
      };
    };
  }

  private static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }
}
