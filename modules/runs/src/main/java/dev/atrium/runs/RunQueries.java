package dev.atrium.runs;

import static dev.atrium.runs.RunTables.ATTEMPTS;
import static dev.atrium.runs.RunTables.CREATED_AT;
import static dev.atrium.runs.RunTables.DEADLINE_AT;
import static dev.atrium.runs.RunTables.ENDED_AT;
import static dev.atrium.runs.RunTables.ERROR;
import static dev.atrium.runs.RunTables.MESSAGE;
import static dev.atrium.runs.RunTables.OWNER_ID;
import static dev.atrium.runs.RunTables.OWNER_KIND;
import static dev.atrium.runs.RunTables.PROGRESS;
import static dev.atrium.runs.RunTables.RUNS;
import static dev.atrium.runs.RunTables.RUN_ID;
import static dev.atrium.runs.RunTables.STARTED_AT;
import static dev.atrium.runs.RunTables.STATUS;
import static dev.atrium.runs.RunTables.STEP;
import static dev.atrium.runs.RunTables.TENANT_ID;
import static dev.atrium.runs.RunTables.TYPE;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.PageCursor;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.Owner;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.jooq.Condition;
import org.jooq.Record;
import org.jooq.impl.DSL;

/** Run lists from {@code runs}: newest first, keyset pagination, optional status filter. */
final class RunQueries {
  static final Set<String> STATUSES = Set.of("queued", "running", "succeeded", "failed", "cancelled");

  private final Database database;

  RunQueries(Database database) {
    this.database = database;
  }

  record Page(List<Map<String, Object>> runs, Optional<String> nextCursor) {}

  /** {@code owner}: one owner's runs (the caller's); empty: the whole tenant's (admin). */
  CompletionStage<Page> list(String tenantId, Optional<Owner> owner, Optional<String> status, int limit,
      Optional<String> cursor) {
    status.filter(s -> !STATUSES.contains(s)).ifPresent(s -> {
      throw ApiError.badRequest("invalid_parameter", "status must be one of " + STATUSES.stream().sorted().toList())
          .withExtension("param", "status");
    });
    Optional<PageCursor> after = cursor.map(PageCursor::parse);
    return database.inTenant(tenantId, dsl -> {
      Condition where = Database.tenantIs(TENANT_ID, tenantId);
      if (owner.isPresent()) {
        where = where.and(OWNER_KIND.eq(owner.get().kind().wireName())).and(OWNER_ID.eq(owner.get().id()));
      }
      if (status.isPresent()) {
        where = where.and(STATUS.eq(status.get()));
      }
      if (after.isPresent()) {
        where = where.and(DSL.row(CREATED_AT, RUN_ID).lt(after.get().at(), after.get().id()));
      }
      List<? extends Record> rows = dsl.select(RUN_ID, OWNER_KIND, OWNER_ID, TYPE, STATUS, PROGRESS, STEP, MESSAGE, ATTEMPTS,
              ERROR, CREATED_AT, STARTED_AT, ENDED_AT, DEADLINE_AT)
          .from(RUNS).where(where).orderBy(CREATED_AT.desc(), RUN_ID.desc()).limit(limit + 1).fetch();
      boolean more = rows.size() > limit;
      List<? extends Record> page = more ? rows.subList(0, limit) : rows;
      Optional<String> next = more
          ? Optional.of(new PageCursor(page.get(limit - 1).get(CREATED_AT), page.get(limit - 1).get(RUN_ID)).encode())
          : Optional.empty();
      return new Page(page.stream().map(RunQueries::row).toList(), next);
    });
  }

  private static Map<String, Object> row(Record r) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("run_id", r.get(RUN_ID));
    json.put("type", r.get(TYPE));
    json.put("status", r.get(STATUS));
    json.put("progress", r.get(PROGRESS));
    json.put("step", r.get(STEP));
    json.put("message", r.get(MESSAGE));
    json.put("attempts", r.get(ATTEMPTS));
    json.put("error", r.get(ERROR));
    json.put("owner", Owner.fromColumns(r.get(OWNER_KIND), r.get(OWNER_ID)));
    json.put("created_at", instant(r.get(CREATED_AT)));
    json.put("started_at", instant(r.get(STARTED_AT)));
    json.put("ended_at", instant(r.get(ENDED_AT)));
    json.put("deadline_at", instant(r.get(DEADLINE_AT)));
    return json;
  }

  private static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
