package dev.atrium.sessions;

import static dev.atrium.sessions.SessionTables.CHAT_SESSIONS;
import static dev.atrium.sessions.SessionTables.LAST_ACTIVE_AT;
import static dev.atrium.sessions.SessionTables.MESSAGE_COUNT;
import static dev.atrium.sessions.SessionTables.STATUS;
import static dev.atrium.sessions.SessionTables.TOKENS_IN;
import static dev.atrium.sessions.SessionTables.TOKENS_OUT;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jooq.Field;
import org.jooq.impl.DSL;

/**
 * What a run of one session's events does to its {@code chat_sessions} row, folded into
 * one change: the {@code Created} that starts the run (if it does), and the accumulated
 * effect of the events after it. Each event, applied alone, maps the message count
 * {@code x} to {@code max(x + a, b)} (a turn's message {@code x + 1}, a trim
 * {@code max(x - n, 0)}), and two such maps compose into one of the same form, so the
 * folded change writes exactly what the events would have written one by one.
 *
 * @param created the run's first event when it is the session's creation, else null
 * @param countDelta {@code a}: messages added, minus messages trimmed
 * @param countFloor {@code b}: the least count a trim leaves, or null when nothing was trimmed
 * @param lastActive the last activity time the events set, or null
 * @param status the last status the events set, or null
 */
record SessionRowChange(ChatSession.Created created, int countDelta, Integer countFloor, long tokensIn,
    long tokensOut, Instant lastActive, String status) {

  /** No event yet: the row as it is. */
  static final SessionRowChange NONE = new SessionRowChange(null, 0, null, 0, 0, null, null);

  static SessionRowChange creation(ChatSession.Created created) {
    return new SessionRowChange(created, 0, null, 0, 0, null, null);
  }

  /** This change followed by {@code event} (not a {@code Created}: that starts a change of its own). */
  SessionRowChange then(ChatSession.Event event) {
    if (event instanceof ChatSession.TurnStarted e) {
      return message(0, 0, e.userMessage().createdAt());
    } else if (event instanceof ChatSession.TurnEnded e) {
      return message(e.promptTokens(), e.completionTokens(), e.assistantMessage().createdAt());
    } else if (event instanceof ChatSession.HistoryTrimmed e) {
      // max(max(x + a, b) - n, 0) = max(x + a - n, max(b - n, 0))
      int floor = countFloor == null ? 0 : Math.max(countFloor - e.count(), 0);
      return new SessionRowChange(created, countDelta - e.count(), floor, tokensIn, tokensOut, lastActive, status);
    } else if (event instanceof ChatSession.Expired) {
      return new SessionRowChange(created, countDelta, countFloor, tokensIn, tokensOut, lastActive, "expired");
    } else if (event instanceof ChatSession.Closed) {
      return new SessionRowChange(created, countDelta, countFloor, tokensIn, tokensOut, lastActive, "closed");
    } else if (event instanceof ChatSession.Created) {
      throw new IllegalArgumentException("a Created starts a change of its own");
    }
    // LeaseRenewed: a lease is the entity's concern, not the list's.
    return this;
  }

  private SessionRowChange message(int promptTokens, int completionTokens, Instant at) {
    return new SessionRowChange(created, countDelta + 1, countFloor == null ? null : countFloor + 1,
        tokensIn + promptTokens, tokensOut + completionTokens, at, status);
  }

  /** Whether the events after the creation (or all of them) change anything. */
  boolean changesRow() {
    return countDelta != 0 || countFloor != null || tokensIn != 0 || tokensOut != 0 || lastActive != null
        || status != null;
  }

  /** The message count this change leaves on a row that had {@code count}. */
  int countFrom(int count) {
    return countFloor == null ? count + countDelta : Math.max(count + countDelta, countFloor);
  }

  /** The assignments that apply this change to an existing row (its columns as they are). */
  Map<Field<?>, Field<?>> assignments() {
    Map<Field<?>, Field<?>> set = new LinkedHashMap<>();
    if (countDelta != 0 || countFloor != null) {
      Field<Integer> added = existing(MESSAGE_COUNT).plus(countDelta);
      set.put(MESSAGE_COUNT, countFloor == null ? added : DSL.greatest(added, DSL.val(countFloor)));
    }
    if (tokensIn != 0) {
      set.put(TOKENS_IN, existing(TOKENS_IN).plus(tokensIn));
    }
    if (tokensOut != 0) {
      set.put(TOKENS_OUT, existing(TOKENS_OUT).plus(tokensOut));
    }
    if (lastActive != null) {
      set.put(LAST_ACTIVE_AT, DSL.val(time(lastActive)));
    }
    if (status != null) {
      set.put(STATUS, DSL.val(status));
    }
    return set;
  }

  /**
   * The row's column qualified with the table: in an insert's {@code ON CONFLICT DO UPDATE}
   * a bare name could also mean the proposed row ({@code excluded}).
   */
  private static <T> Field<T> existing(Field<T> column) {
    return DSL.field(DSL.name(CHAT_SESSIONS.getName(), column.getName()), column.getDataType());
  }

  static OffsetDateTime time(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }
}
