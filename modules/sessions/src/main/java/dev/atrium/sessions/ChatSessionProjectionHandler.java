package dev.atrium.sessions;

import static dev.atrium.sessions.SessionTables.CHAT_SESSIONS;
import static dev.atrium.sessions.SessionTables.CREATED_AT;
import static dev.atrium.sessions.SessionTables.LAST_ACTIVE_AT;
import static dev.atrium.sessions.SessionTables.MESSAGE_COUNT;
import static dev.atrium.sessions.SessionTables.MODEL;
import static dev.atrium.sessions.SessionTables.OWNER_KEY_ID;
import static dev.atrium.sessions.SessionTables.SESSION_ID;
import static dev.atrium.sessions.SessionTables.STATUS;
import static dev.atrium.sessions.SessionTables.TENANT_ID;
import static dev.atrium.sessions.SessionTables.TITLE;
import static dev.atrium.sessions.SessionTables.TOKENS_IN;
import static dev.atrium.sessions.SessionTables.TOKENS_OUT;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.ProjectionDatabase;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/** One ChatSession event → its row in {@code chat_sessions}, in the projection's transaction. */
final class ChatSessionProjectionHandler extends JdbcHandler<EventEnvelope<ChatSession.Event>, ProjectionDatabase.Session> {

  @Override
  public void process(ProjectionDatabase.Session session, EventEnvelope<ChatSession.Event> envelope) throws Exception {
    session.withConnection(connection -> {
      apply(Database.dsl(connection), envelope.event());
      return null;
    });
  }

  static void apply(DSLContext dsl, ChatSession.Event event) {
    if (event instanceof ChatSession.Created e) {
      dsl.insertInto(CHAT_SESSIONS)
          .set(TENANT_ID, e.tenantId()).set(SESSION_ID, e.sessionId()).set(OWNER_KEY_ID, e.ownerKeyId())
          .set(TITLE, e.title()).set(MODEL, e.model()).set(CREATED_AT, time(e.at())).set(LAST_ACTIVE_AT, time(e.at()))
          .set(STATUS, "active")
          .onConflictDoNothing()
          .execute();
    } else if (event instanceof ChatSession.TurnStarted e) {
      dsl.update(CHAT_SESSIONS)
          .set(MESSAGE_COUNT, MESSAGE_COUNT.plus(1))
          .set(LAST_ACTIVE_AT, time(e.userMessage().createdAt()))
          .where(row(e.tenantId(), e.sessionId()))
          .execute();
    } else if (event instanceof ChatSession.TurnEnded e) {
      dsl.update(CHAT_SESSIONS)
          .set(MESSAGE_COUNT, MESSAGE_COUNT.plus(1))
          .set(TOKENS_IN, TOKENS_IN.plus(e.promptTokens()))
          .set(TOKENS_OUT, TOKENS_OUT.plus(e.completionTokens()))
          .set(LAST_ACTIVE_AT, time(e.assistantMessage().createdAt()))
          .where(row(e.tenantId(), e.sessionId()))
          .execute();
    } else if (event instanceof ChatSession.HistoryTrimmed e) {
      dsl.update(CHAT_SESSIONS)
          .set(MESSAGE_COUNT, DSL.greatest(MESSAGE_COUNT.minus(e.count()), DSL.inline(0)))
          .where(row(e.tenantId(), e.sessionId()))
          .execute();
    } else if (event instanceof ChatSession.Expired e) {
      dsl.update(CHAT_SESSIONS).set(STATUS, "expired").where(row(e.tenantId(), e.sessionId())).execute();
    } else if (event instanceof ChatSession.Closed e) {
      dsl.update(CHAT_SESSIONS).set(STATUS, "closed").where(row(e.tenantId(), e.sessionId())).execute();
    }
    // LeaseRenewed: a lease is the entity's concern, not the list's.
  }

  private static org.jooq.Condition row(String tenantId, String sessionId) {
    return Database.tenantIs(TENANT_ID, tenantId).and(SESSION_ID.eq(sessionId));
  }

  private static OffsetDateTime time(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }
}
