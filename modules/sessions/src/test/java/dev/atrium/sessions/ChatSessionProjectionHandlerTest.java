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
import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.tenant.Owner;
import dev.atrium.core.db.Database;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.sessions.ChatSession.Closed;
import dev.atrium.sessions.ChatSession.Created;
import dev.atrium.sessions.ChatSession.Event;
import dev.atrium.sessions.ChatSession.Expired;
import dev.atrium.sessions.ChatSession.HistoryTrimmed;
import dev.atrium.sessions.ChatSession.LeaseRenewed;
import dev.atrium.sessions.ChatSession.TurnEnded;
import dev.atrium.sessions.ChatSession.TurnStarted;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The grouped chat_sessions handler against a real PostgreSQL, without a projection
 * around it: however a run of events is cut into groups, it writes the rows that the
 * previous handler, one statement per event, wrote.
 */
class ChatSessionProjectionHandlerTest {
  static final Instant T0 = Instant.parse("2026-11-30T10:00:00Z");
  static Connection connection;
  static DSLContext dsl;

  @BeforeAll
  static void connect() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("chat_sessions_handler");
    connection = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
    dsl = Database.dsl(connection);
  }

  @AfterAll
  static void close() throws Exception {
    connection.close();
  }

  /** Several sessions of two tenants, interleaved, with every kind of event. */
  static List<Event> journal() {
    List<Event> events = new ArrayList<>();
    events.add(new Created("acme", "a", Owner.key("k_alice"), "First", "local", "be brief", at(0), null));
    events.add(new Created("acme", "b", Owner.key("k_bob"), "Second", "gpt", null, at(1), true));
    turn(events, "acme", "a", 2, 11, 5);
    events.add(new Created("globex", "c", null, null, "local", null, at(5), null));
    turn(events, "acme", "b", 6, 20, 7);
    turn(events, "acme", "a", 8, 13, 2);
    events.add(new HistoryTrimmed("acme", "a", 3));
    turn(events, "globex", "c", 11, 4, 4);
    turn(events, "acme", "a", 13, 9, 1);
    events.add(new HistoryTrimmed("acme", "a", 2));
    events.add(new HistoryTrimmed("globex", "c", 5));
    events.add(new Expired("acme", "b", at(16)));
    turn(events, "globex", "c", 17, 6, 3);
    events.add(new Closed("acme", "a", at(20)));
    events.add(new Created("acme", "d", Owner.key("k_alice"), "Quiet", "local", null, at(21), null));
    // A session created twice: one by one, the second insert did nothing.
    events.add(new Created("acme", "e", Owner.key("k_alice"), "Once", "local", null, at(22), null));
    turn(events, "acme", "e", 23, 3, 3);
    events.add(new Created("acme", "e", Owner.key("k_bob"), "Twice", "gpt", null, at(25), null));
    turn(events, "acme", "e", 26, 1, 1);
    return events;
  }

  /** A turn: started, its lease renewed, ended (seconds after T0, tokens in and out). */
  static void turn(List<Event> events, String tenant, String session, int second, int in, int out) {
    String turnId = session + "-" + second;
    Instant started = at(second);
    var user = new SessionState.Message(turnId + "-u", ChatMessage.user("q"), started, 1, false, turnId);
    var turn = new SessionState.Turn(turnId, user.id(), turnId + "-a", "local", started, started.plusSeconds(30), null);
    events.add(new TurnStarted(tenant, session, turn, user));
    events.add(new LeaseRenewed(turnId, started.plusSeconds(60)));
    var answer = new SessionState.Message(turnId + "-a", ChatMessage.assistant("a"), at(second + 1), 1, false, turnId);
    events.add(new TurnEnded(tenant, session, turnId, answer, in, out, "stop"));
  }

  static Instant at(int second) {
    return T0.plusSeconds(second);
  }

  /** Every column of every row, in key order. */
  static List<String> rows() {
    return dsl.select(TENANT_ID, SESSION_ID, OWNER_KIND, OWNER_ID, TITLE, MODEL, CREATED_AT, LAST_ACTIVE_AT, MESSAGE_COUNT,
            TOKENS_IN, TOKENS_OUT, STATUS)
        .from(CHAT_SESSIONS).orderBy(TENANT_ID, SESSION_ID)
        .fetch(r -> r.intoStream().map(ChatSessionProjectionHandlerTest::text).collect(Collectors.joining("|")));
  }

  /** Times as instants, whatever the session's time zone. */
  static String text(Object value) {
    return value instanceof OffsetDateTime t ? t.toInstant().toString() : String.valueOf(value);
  }

  static List<String> written(Consumer<DSLContext> handling) {
    dsl.deleteFrom(CHAT_SESSIONS).execute();
    handling.accept(dsl);
    return rows();
  }

  @Test
  void aGroupOfEveryKindOfEventWritesTheRowsOfOneByOneHandling() {
    List<Event> events = journal();
    List<String> oneByOne = written(d -> events.forEach(e -> OneByOne.apply(d, e)));

    assertThat(written(d -> ChatSessionProjectionHandler.apply(d, events))).isEqualTo(oneByOne);
    assertThat(oneByOne).containsExactly(
        "acme|a|key|k_alice|First|local|2026-11-30T10:00:00Z|2026-11-30T10:00:14Z|1|33|8|closed",
        "acme|b|key|k_bob|Second|gpt|2026-11-30T10:00:01Z|2026-11-30T10:00:07Z|2|20|7|expired",
        "acme|d|key|k_alice|Quiet|local|2026-11-30T10:00:21Z|2026-11-30T10:00:21Z|0|0|0|active",
        "acme|e|key|k_alice|Once|local|2026-11-30T10:00:22Z|2026-11-30T10:00:27Z|4|4|4|active",
        "globex|c|null|null|null|local|2026-11-30T10:00:05Z|2026-11-30T10:00:18Z|2|10|7|active");
  }

  @Test
  void everyCutIntoTwoGroupsWritesTheSameRows() {
    List<Event> events = journal();
    List<String> oneByOne = written(d -> events.forEach(e -> OneByOne.apply(d, e)));
    for (int cut = 1; cut < events.size(); cut++) {
      List<Event> first = events.subList(0, cut);
      List<Event> rest = events.subList(cut, events.size());
      assertThat(written(d -> {
        ChatSessionProjectionHandler.apply(d, first);
        ChatSessionProjectionHandler.apply(d, rest);
      })).as("cut after %d events", cut).isEqualTo(oneByOne);
    }
  }

  @Test
  void groupsOfOneWriteTheRowsOfOneByOneHandling() {
    List<Event> events = journal();
    List<String> oneByOne = written(d -> events.forEach(e -> OneByOne.apply(d, e)));

    assertThat(written(d -> events.forEach(e -> ChatSessionProjectionHandler.apply(d, List.of(e)))))
        .isEqualTo(oneByOne);
  }

  @Test
  void aUsersSessionIsWrittenWithItsUserAsTheOwner() {
    List<String> rows = written(d -> ChatSessionProjectionHandler.apply(d,
        List.of(new Created("acme", "u", Owner.user("u_1"), "Mine", "local", null, at(0), null))));

    assertThat(rows).containsExactly("acme|u|user|u_1|Mine|local|2026-11-30T10:00:00Z|2026-11-30T10:00:00Z|0|0|0|active");
  }

  @Test
  void aGroupWithoutRowChangesWritesNothing() {
    written(d -> ChatSessionProjectionHandler.apply(d, List.of(new LeaseRenewed("t", at(1)))));

    assertThat(rows()).isEmpty();
  }

  /** The handler before groups (one statement per event), kept here as the reference. */
  static final class OneByOne {
    static void apply(DSLContext dsl, Event event) {
      if (event instanceof Created e) {
        dsl.insertInto(CHAT_SESSIONS)
            .set(TENANT_ID, e.tenantId()).set(SESSION_ID, e.sessionId()).set(OWNER_KIND, e.owner() == null ? null : e.owner().kind().wireName())
            .set(OWNER_ID, e.owner() == null ? null : e.owner().id())
            .set(TITLE, e.title()).set(MODEL, e.model()).set(CREATED_AT, time(e.at())).set(LAST_ACTIVE_AT, time(e.at()))
            .set(STATUS, "active")
            .onConflictDoNothing()
            .execute();
      } else if (event instanceof TurnStarted e) {
        dsl.update(CHAT_SESSIONS)
            .set(MESSAGE_COUNT, MESSAGE_COUNT.plus(1))
            .set(LAST_ACTIVE_AT, time(e.userMessage().createdAt()))
            .where(TENANT_ID.eq(e.tenantId()).and(SESSION_ID.eq(e.sessionId())))
            .execute();
      } else if (event instanceof TurnEnded e) {
        dsl.update(CHAT_SESSIONS)
            .set(MESSAGE_COUNT, MESSAGE_COUNT.plus(1))
            .set(TOKENS_IN, TOKENS_IN.plus(e.promptTokens()))
            .set(TOKENS_OUT, TOKENS_OUT.plus(e.completionTokens()))
            .set(LAST_ACTIVE_AT, time(e.assistantMessage().createdAt()))
            .where(TENANT_ID.eq(e.tenantId()).and(SESSION_ID.eq(e.sessionId())))
            .execute();
      } else if (event instanceof HistoryTrimmed e) {
        dsl.update(CHAT_SESSIONS)
            .set(MESSAGE_COUNT, DSL.greatest(MESSAGE_COUNT.minus(e.count()), DSL.inline(0)))
            .where(TENANT_ID.eq(e.tenantId()).and(SESSION_ID.eq(e.sessionId())))
            .execute();
      } else if (event instanceof Expired e) {
        dsl.update(CHAT_SESSIONS).set(STATUS, "expired")
            .where(TENANT_ID.eq(e.tenantId()).and(SESSION_ID.eq(e.sessionId()))).execute();
      } else if (event instanceof Closed e) {
        dsl.update(CHAT_SESSIONS).set(STATUS, "closed")
            .where(TENANT_ID.eq(e.tenantId()).and(SESSION_ID.eq(e.sessionId()))).execute();
      }
    }

    static OffsetDateTime time(Instant instant) {
      return instant.atOffset(ZoneOffset.UTC);
    }
  }
}
