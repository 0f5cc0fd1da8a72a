package dev.atrium.sessions;

import static dev.atrium.sessions.SessionTables.CHAT_SESSIONS;
import static dev.atrium.sessions.SessionTables.CREATED_AT;
import static dev.atrium.sessions.SessionTables.LAST_ACTIVE_AT;
import static dev.atrium.sessions.SessionTables.MESSAGE_COUNT;
import static dev.atrium.sessions.SessionTables.MODEL;
import static dev.atrium.sessions.SessionTables.OWNER_ID;
import static dev.atrium.sessions.SessionTables.OWNER_KIND;
import static dev.atrium.sessions.SessionTables.SESSION_ID;
import static dev.atrium.sessions.SessionTables.STATUS;
import static dev.atrium.sessions.SessionTables.TENANT_ID;
import static dev.atrium.sessions.SessionTables.TITLE;
import static dev.atrium.sessions.SessionTables.TOKENS_IN;
import static dev.atrium.sessions.SessionTables.TOKENS_OUT;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.PageCursor;
import dev.atrium.core.tenant.Owner;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jooq.Condition;
import org.jooq.Record;
import org.jooq.impl.DSL;

/**
 * Session lists from {@code chat_sessions}, newest activity first, with keyset pagination:
 * the cursor names the last row of a page, so pages stay stable while sessions change.
 */
final class SessionQueries {
  private final Database database;

  SessionQueries(Database database) {
    this.database = database;
  }

  /** {@code owner}: one owner's sessions (a caller's, or the one an admin asks for); empty: the whole tenant's. */
  record Filter(Optional<Owner> owner, Optional<Instant> activeSince, boolean activeOnly) {}

  record Page(List<Map<String, Object>> sessions, Optional<String> nextCursor) {}

  CompletionStage<Page> list(String tenantId, Filter filter, int limit, Optional<String> cursor) {
    Optional<PageCursor> after = cursor.map(PageCursor::parse);
    return database.inTenant(tenantId, dsl -> {
      Condition where = Database.tenantIs(TENANT_ID, tenantId);
      if (filter.owner().isPresent()) {
        where = where.and(OWNER_KIND.eq(filter.owner().get().kind().wireName()))
            .and(OWNER_ID.eq(filter.owner().get().id()));
      }
      if (filter.activeOnly()) {
        where = where.and(STATUS.eq("active"));
      }
      if (filter.activeSince().isPresent()) {
        where = where.and(LAST_ACTIVE_AT.ge(filter.activeSince().get().atOffset(ZoneOffset.UTC)));
      }
      if (after.isPresent()) {
        where = where.and(DSL.row(LAST_ACTIVE_AT, SESSION_ID).lt(after.get().at(), after.get().id()));
      }
      List<Record> rows = dsl.select(SESSION_ID, OWNER_KIND, OWNER_ID, TITLE, MODEL, CREATED_AT, LAST_ACTIVE_AT, MESSAGE_COUNT,
              TOKENS_IN, TOKENS_OUT, STATUS)
          .from(CHAT_SESSIONS)
          .where(where)
          .orderBy(LAST_ACTIVE_AT.desc(), SESSION_ID.desc())
          .limit(limit + 1)
          .fetch()
          .stream().map(r -> (Record) r).toList();
      boolean more = rows.size() > limit;
      List<Record> page = more ? rows.subList(0, limit) : rows;
      Optional<String> next = more
          ? Optional.of(new PageCursor(page.get(limit - 1).get(LAST_ACTIVE_AT), page.get(limit - 1).get(SESSION_ID)).encode())
          : Optional.empty();
      return new Page(page.stream().map(SessionQueries::row).toList(), next);
    });
  }

  private static Map<String, Object> row(Record r) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", r.get(SESSION_ID));
    json.put("title", r.get(TITLE));
    json.put("model", r.get(MODEL));
    json.put("owner", Owner.fromColumns(r.get(OWNER_KIND), r.get(OWNER_ID)));
    json.put("created_at", r.get(CREATED_AT).toInstant());
    json.put("last_active_at", r.get(LAST_ACTIVE_AT).toInstant());
    json.put("message_count", r.get(MESSAGE_COUNT));
    json.put("tokens_in", r.get(TOKENS_IN));
    json.put("tokens_out", r.get(TOKENS_OUT));
    json.put("status", r.get(STATUS));
    return json;
  }
}
