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
import static dev.atrium.sessions.SessionRowChange.time;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.ProjectionDatabase;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;
import org.jooq.Condition;
import org.jooq.DSLContext;

/**
 * A group of ChatSession events → one row change per session in {@code chat_sessions}, in
 * the projection's transaction (which also commits the group's offset): an insert for a
 * session created in the group, one update for any other, whatever the number of its
 * events. The rows are those that handling the events one by one would write.
 */
final class ChatSessionProjectionHandler
    extends JdbcHandler<List<EventEnvelope<ChatSession.Event>>, ProjectionDatabase.Session> {

  /** A row of {@code chat_sessions}. */
  record SessionKey(String tenantId, String sessionId) {}

  @Override
  public void process(ProjectionDatabase.Session session, List<EventEnvelope<ChatSession.Event>> envelopes)
      throws Exception {
    List<ChatSession.Event> events = envelopes.stream().map(EventEnvelope::event).toList();
    session.withConnection(connection -> {
      apply(Database.dsl(connection), events);
      return null;
    });
  }

  /** The events, in journal order, folded per session and written. */
  static void apply(DSLContext dsl, List<ChatSession.Event> events) {
    Map<SessionKey, SessionRowChange> changes = new LinkedHashMap<>();
    for (ChatSession.Event event : events) {
      Optional<SessionKey> key = key(event);
      if (key.isEmpty()) {
        continue;
      }
      if (event instanceof ChatSession.Created created) {
        // Events of a session before its creation (none, in practice) are written first, in order.
        SessionRowChange earlier = changes.remove(key.get());
        if (earlier != null) {
          write(dsl, key.get(), earlier);
        }
        changes.put(key.get(), SessionRowChange.creation(created));
      } else {
        changes.put(key.get(), changes.getOrDefault(key.get(), SessionRowChange.NONE).then(event));
      }
    }
    changes.forEach((key, change) -> write(dsl, key, change));
  }

  private static void write(DSLContext dsl, SessionKey key, SessionRowChange change) {
    ChatSession.Created e = change.created();
    if (e != null) {
      var insert = dsl.insertInto(CHAT_SESSIONS)
          .set(TENANT_ID, e.tenantId()).set(SESSION_ID, e.sessionId())
          .set(OWNER_KIND, e.owner() == null ? null : e.owner().kind().wireName())
          .set(OWNER_ID, e.owner() == null ? null : e.owner().id())
          .set(TITLE, e.title()).set(MODEL, e.model()).set(CREATED_AT, time(e.at()))
          .set(LAST_ACTIVE_AT, time(change.lastActive() != null ? change.lastActive() : e.at()))
          .set(MESSAGE_COUNT, change.countFrom(0)).set(TOKENS_IN, change.tokensIn()).set(TOKENS_OUT, change.tokensOut())
          .set(STATUS, change.status() != null ? change.status() : "active")
          .onConflict(TENANT_ID, SESSION_ID);
      // The row exists already (a second Created): one by one, its insert would do nothing
      // and the later events would update the existing row.
      if (change.changesRow()) {
        insert.doUpdate().set(change.assignments()).execute();
      } else {
        insert.doNothing().execute();
      }
    } else if (change.changesRow()) {
      dsl.update(CHAT_SESSIONS).set(change.assignments()).where(row(key)).execute();
    }
  }

  private static Optional<SessionKey> key(ChatSession.Event event) {
    if (event instanceof ChatSession.Created e) {
      return Optional.of(new SessionKey(e.tenantId(), e.sessionId()));
    } else if (event instanceof ChatSession.TurnStarted e) {
      return Optional.of(new SessionKey(e.tenantId(), e.sessionId()));
    } else if (event instanceof ChatSession.TurnEnded e) {
      return Optional.of(new SessionKey(e.tenantId(), e.sessionId()));
    } else if (event instanceof ChatSession.HistoryTrimmed e) {
      return Optional.of(new SessionKey(e.tenantId(), e.sessionId()));
    } else if (event instanceof ChatSession.Expired e) {
      return Optional.of(new SessionKey(e.tenantId(), e.sessionId()));
    } else if (event instanceof ChatSession.Closed e) {
      return Optional.of(new SessionKey(e.tenantId(), e.sessionId()));
    }
    // LeaseRenewed: a lease is the entity's concern, not the list's.
    return Optional.empty();
  }

  private static Condition row(SessionKey key) {
    return Database.tenantIs(TENANT_ID, key.tenantId()).and(SESSION_ID.eq(key.sessionId()));
  }
}
