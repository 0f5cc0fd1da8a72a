package dev.atrium.limits;

import com.zaxxer.hikari.HikariDataSource;
import dev.atrium.core.db.Database;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.jooq.DSLContext;
import org.jooq.Record;

/**
 * What {@code usage_events} says a budget's scopes have settled in the current day and
 * month: read by a {@link Budget} when it starts (after a crash, a hand-off, a passivation),
 * so a lost write-behind cannot let a period forget what was spent. Tokens are in + out,
 * spend is the tenant's cost (rows paid by a caller's own key cost the tenant nothing),
 * cache hits count for neither. One grouped query per budget, plus one per line reset by an
 * admin inside its period (its totals count from the reset). Read as the system role (the
 * installation's budget sums every tenant), on the database dispatcher.
 */
final class BudgetUsage {
  /** One line's totals as the usage rows give them. */
  record Derived(String scope, BudgetPeriod period, String periodKey, long tokens, long microUsd) {}

  /** Reads the totals of budget {@code budgetId} ({@code tenantId} or {@code _installation}) as of {@code now}. */
  @FunctionalInterface
  interface Source {
    CompletionStage<List<Derived>> derive(String budgetId, List<BudgetBook.SavedLine> resets, Instant now);
  }

  private static final String SUMS = """
      coalesce(sum(tokens_in + tokens_out) FILTER (WHERE created_at >= ?::timestamptz), 0),
      coalesce(sum(cost_micro_usd) FILTER (WHERE created_at >= ?::timestamptz AND NOT byo), 0),
      coalesce(sum(tokens_in + tokens_out), 0),
      coalesce(sum(cost_micro_usd) FILTER (WHERE NOT byo), 0)""";

  private final HikariDataSource pool;
  private final Executor jdbc;

  private BudgetUsage(HikariDataSource pool, Executor jdbc) {
    this.pool = pool;
    this.jdbc = jdbc;
  }

  /** A source on the limits module's system-role pool ({@link SystemReads}). */
  static BudgetUsage start(SystemReads reads) {
    return new BudgetUsage(reads.pool(), reads.executor());
  }

  CompletionStage<List<Derived>> derive(String budgetId, List<BudgetBook.SavedLine> resets, Instant now) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection connection = pool.getConnection()) {
        connection.setAutoCommit(true);
        return derive(Database.dsl(connection), budgetId, resets, now);
      } catch (SQLException e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }, jdbc);
  }

  private static List<Derived> derive(DSLContext dsl, String budgetId, List<BudgetBook.SavedLine> resets, Instant now) {
    var dayStart = BudgetPeriod.DAY.start(now).atOffset(ZoneOffset.UTC);
    var monthStart = BudgetPeriod.MONTH.start(now).atOffset(ZoneOffset.UTC);
    String day = BudgetPeriod.DAY.key(now);
    String month = BudgetPeriod.MONTH.key(now);
    boolean installation = Budget.INSTALLATION.equals(budgetId);
    List<Derived> out = new ArrayList<>();
    if (installation) {
      Record r = dsl.fetchOne("SELECT " + SUMS + " FROM usage_events WHERE created_at >= ?::timestamptz AND NOT cache_hit",
          dayStart, dayStart, monthStart);
      addLines(out, Budget.INSTALLATION_SCOPE, day, month, r, 0);
    } else {
      long[] tenant = new long[4];
      for (Record r : dsl.fetch("SELECT account_id, key_id, " + SUMS + " FROM usage_events"
          + " WHERE tenant_id = ? AND created_at >= ?::timestamptz AND NOT cache_hit GROUP BY account_id, key_id",
          dayStart, dayStart, budgetId, monthStart)) {
        String account = r.get(0, String.class);
        String key = r.get(1, String.class);
        for (int i = 0; i < 4; i++) {
          tenant[i] += r.get(i + 2, Long.class);
        }
        if (account != null) {
          addLines(out, "account:" + account, day, month, r, 2);
        }
        if (key != null) {
          addLines(out, "key:" + key, day, month, r, 2);
        }
      }
      out.add(new Derived(Budget.TENANT_SCOPE, BudgetPeriod.DAY, day, tenant[0], tenant[1]));
      out.add(new Derived(Budget.TENANT_SCOPE, BudgetPeriod.MONTH, month, tenant[2], tenant[3]));
    }
    // Accounts share keys' rows: an account's lines are the sum over its keys (grouped above by both).
    out = merge(out);
    for (BudgetBook.SavedLine reset : resets) {
      String key = reset.period().key(now);
      if (!key.equals(reset.periodKey())) {
        continue;
      }
      String where = installation ? "TRUE" : "tenant_id = ?";
      List<Object> binds = new ArrayList<>();
      binds.add(reset.resetAt().atOffset(ZoneOffset.UTC));
      if (!installation) {
        binds.add(budgetId);
      }
      if (reset.scope().startsWith("account:")) {
        where += " AND account_id = ?";
        binds.add(reset.scope().substring("account:".length()));
      } else if (reset.scope().startsWith("key:")) {
        where += " AND key_id = ?";
        binds.add(reset.scope().substring("key:".length()));
      }
      Record r = dsl.fetchOne("SELECT coalesce(sum(tokens_in + tokens_out), 0), coalesce(sum(cost_micro_usd)"
          + " FILTER (WHERE NOT byo), 0) FROM usage_events WHERE created_at >= ?::timestamptz AND NOT cache_hit AND " + where,
          binds.toArray());
      out.removeIf(d -> d.scope().equals(reset.scope()) && d.period() == reset.period());
      out.add(new Derived(reset.scope(), reset.period(), key, r.get(0, Long.class), r.get(1, Long.class)));
    }
    return out;
  }

  private static void addLines(List<Derived> out, String scope, String day, String month, Record r, int from) {
    out.add(new Derived(scope, BudgetPeriod.DAY, day, r.get(from, Long.class), r.get(from + 1, Long.class)));
    out.add(new Derived(scope, BudgetPeriod.MONTH, month, r.get(from + 2, Long.class), r.get(from + 3, Long.class)));
  }

  /** Lines of the same scope and period added up. */
  private static List<Derived> merge(List<Derived> lines) {
    var sums = new java.util.LinkedHashMap<String, Derived>();
    for (Derived d : lines) {
      sums.merge(d.scope() + "|" + d.period(), d, (a, b) ->
          new Derived(a.scope(), a.period(), a.periodKey(), a.tokens() + b.tokens(), a.microUsd() + b.microUsd()));
    }
    return new ArrayList<>(sums.values());
  }
}
