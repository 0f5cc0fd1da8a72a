package dev.atrium.limits;

import dev.atrium.core.JsonSerializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A {@link Budget}'s figures in memory: for each scope ({@code tenant}, {@code account:<id>},
 * {@code key:<id>}, {@code installation}) and period (day, month) a line of what is settled
 * and what open reservations hold, in tokens and in micro-USD; and the open reservations.
 * Mutable, and touched only by its entity's actor: the hot path allocates one hold per
 * reservation and nothing per line. A line rolls over to a new period the first time it is
 * touched in it.
 */
final class BudgetBook {

  /** One scope's caps as a reservation carries them (null: no cap); spend in micro-USD. */
  record ScopeCaps(String scope, Long dailyTokens, Long monthlyTokens, Long dailyMicroUsd, Long monthlyMicroUsd,
      double hardLimitRatio) implements JsonSerializable {
    Long tokens(BudgetPeriod period) {
      return period == BudgetPeriod.DAY ? dailyTokens : monthlyTokens;
    }

    Long microUsd(BudgetPeriod period) {
      return period == BudgetPeriod.DAY ? dailyMicroUsd : monthlyMicroUsd;
    }
  }

  /** What is written to the store for one line: its period, what is settled, and the admin reset inside it, if any. */
  record SavedLine(String scope, BudgetPeriod period, String periodKey, long settledTokens, long settledMicroUsd,
      Instant resetAt) implements JsonSerializable {}

  /** The answer to a reservation: granted (spend held or not), or denied with where and why. */
  record Outcome(boolean granted, boolean spendHeld, String scope, BudgetPeriod period, String measure, long cap,
      double ratio, long used) {
    static final Outcome GRANTED = new Outcome(true, true, null, null, null, 0, 0, 0);
    static final Outcome GRANTED_WITHOUT_SPEND = new Outcome(true, false, null, null, null, 0, 0, 0);
  }

  static final class Line {
    final String scope;
    final BudgetPeriod period;
    String periodKey;
    long settledTokens;
    long settledMicroUsd;
    long heldTokens;
    long heldMicroUsd;
    Instant resetAt;

    Line(String scope, BudgetPeriod period, String periodKey) {
      this.scope = scope;
      this.period = period;
      this.periodKey = periodKey;
    }

    void rollTo(String key) {
      if (!key.equals(periodKey)) {
        periodKey = key;
        settledTokens = 0;
        settledMicroUsd = 0;
        heldTokens = 0;
        heldMicroUsd = 0;
        resetAt = null;
      }
    }
  }

  /** An open reservation: what it holds, in which scopes and periods, until when. */
  record Hold(List<String> scopes, String dayKey, String monthKey, long tokens, long microUsd, Instant expiresAt) {}

  private final Map<String, Line[]> lines = new HashMap<>();
  private final Map<String, Hold> holds = new HashMap<>();
  /** The period names of the UTC day last asked for: every command asks, a day changes once. */
  private long namedDay = Long.MIN_VALUE;
  private String dayName;
  private String monthName;

  private void nameDay(Instant at) {
    long day = Math.floorDiv(at.getEpochSecond(), 86_400);
    if (day != namedDay) {
      dayName = BudgetPeriod.DAY.key(at);
      monthName = BudgetPeriod.MONTH.key(at);
      namedDay = day;
    }
  }

  private String dayKey(Instant at) {
    nameDay(at);
    return dayName;
  }

  private String monthKey(Instant at) {
    nameDay(at);
    return monthName;
  }

  /** The book after a restart: the lines last written; no reservation (their calls settle through usage rows). */
  static BudgetBook restored(List<SavedLine> saved) {
    BudgetBook book = new BudgetBook();
    for (SavedLine s : saved) {
      Line line = book.lineOf(s.scope(), s.period(), s.periodKey());
      line.settledTokens = s.settledTokens();
      line.settledMicroUsd = s.settledMicroUsd();
      line.resetAt = s.resetAt();
    }
    return book;
  }

  private Line lineOf(String scope, BudgetPeriod period, String key) {
    Line[] pair = lines.computeIfAbsent(scope, s -> new Line[2]);
    Line line = pair[period.ordinal()];
    if (line == null) {
      line = new Line(scope, period, key);
      pair[period.ordinal()] = line;
    }
    line.rollTo(key);
    return line;
  }

  /**
   * Holds {@code tokens} and {@code microUsd} in every period of every scope, if none would
   * pass a cap times its ratio; all or nothing. {@code spendOptional}: a spend cap with no
   * room does not refuse; the spend is then not held ({@link Outcome#spendHeld} false).
   */
  Outcome reserve(String id, List<ScopeCaps> scopes, long tokens, long microUsd, boolean spendOptional, Instant now,
      Instant expiresAt) {
    String dayKey = dayKey(now);
    String monthKey = monthKey(now);
    boolean spendRoom = true;
    Outcome spendRefusal = null;
    for (ScopeCaps caps : scopes) {
      for (BudgetPeriod period : BudgetPeriod.values()) {
        Line line = lineOf(caps.scope(), period, period == BudgetPeriod.DAY ? dayKey : monthKey);
        Long tokenCap = caps.tokens(period);
        if (tokenCap != null && passes(line.settledTokens + line.heldTokens + tokens, tokenCap, caps.hardLimitRatio())) {
          return new Outcome(false, false, caps.scope(), period, "tokens", tokenCap, caps.hardLimitRatio(),
              line.settledTokens + line.heldTokens);
        }
        Long spendCap = caps.microUsd(period);
        if (spendRoom && spendCap != null
            && passes(line.settledMicroUsd + line.heldMicroUsd + microUsd, spendCap, caps.hardLimitRatio())) {
          spendRoom = false;
          spendRefusal = new Outcome(false, false, caps.scope(), period, "spend", spendCap, caps.hardLimitRatio(),
              line.settledMicroUsd + line.heldMicroUsd);
        }
      }
    }
    if (!spendRoom && !spendOptional) {
      return spendRefusal;
    }
    long heldSpend = spendRoom ? microUsd : 0;
    List<String> names = new ArrayList<>(scopes.size());
    for (ScopeCaps caps : scopes) {
      names.add(caps.scope());
      for (Line line : lines.get(caps.scope())) {
        line.heldTokens += tokens;
        line.heldMicroUsd += heldSpend;
      }
    }
    Hold previous = holds.put(id, new Hold(List.copyOf(names), dayKey, monthKey, tokens, heldSpend, expiresAt));
    if (previous != null) {
      drop(previous);
    }
    return spendRoom ? Outcome.GRANTED : Outcome.GRANTED_WITHOUT_SPEND;
  }

  /** Over the limit: the cap times its ratio, rounded down. */
  private static boolean passes(long wouldUse, long cap, double ratio) {
    return wouldUse > (long) Math.floor(cap * ratio);
  }

  /**
   * The call of reservation {@code id} (if still open) used {@code tokens} and
   * {@code microUsd}, starting at {@code at}: its hold is dropped and the use is added to
   * the periods holding {@code at} of {@code scopes} (of the hold's scopes when it is
   * open). A use of a period already over counts for nothing: that period is gone.
   */
  void settle(String id, List<String> scopes, long tokens, long microUsd, Instant at, Instant now) {
    Hold hold = id == null ? null : holds.remove(id);
    if (hold != null) {
      drop(hold);
    }
    boolean today = dayKey(at).equals(dayKey(now));
    boolean thisMonth = monthKey(at).equals(monthKey(now));
    String dayKey = dayKey(now);
    String monthKey = monthKey(now);
    for (String scope : scopes) {
      if (today) {
        add(lineOf(scope, BudgetPeriod.DAY, dayKey), tokens, microUsd, at);
      }
      if (thisMonth) {
        add(lineOf(scope, BudgetPeriod.MONTH, monthKey), tokens, microUsd, at);
      }
    }
  }

  private static void add(Line line, long tokens, long microUsd, Instant at) {
    // A call that started before an admin reset belongs to the period before it.
    if (line.resetAt == null || !at.isBefore(line.resetAt)) {
      line.settledTokens += tokens;
      line.settledMicroUsd += microUsd;
    }
  }

  /** Reservation {@code id} is dropped unsettled. */
  void release(String id) {
    Hold hold = holds.remove(id);
    if (hold != null) {
      drop(hold);
    }
  }

  private void drop(Hold hold) {
    for (String scope : hold.scopes()) {
      Line[] pair = lines.get(scope);
      if (pair == null) {
        continue;
      }
      for (Line line : pair) {
        if (line != null && line.periodKey.equals(line.period == BudgetPeriod.DAY ? hold.dayKey() : hold.monthKey())) {
          line.heldTokens = Math.max(0, line.heldTokens - hold.tokens());
          line.heldMicroUsd = Math.max(0, line.heldMicroUsd - hold.microUsd());
        }
      }
    }
  }

  /** Drops the reservations whose call never settled in time; how many. */
  int expire(Instant now) {
    int expired = 0;
    for (Iterator<Hold> it = holds.values().iterator(); it.hasNext(); ) {
      Hold hold = it.next();
      if (!hold.expiresAt().isAfter(now)) {
        it.remove();
        drop(hold);
        expired++;
      }
    }
    return expired;
  }

  /** An admin reset: the scope's period starts again now, with nothing settled (what is held stays held). */
  void reset(String scope, BudgetPeriod period, Instant now) {
    Line line = lineOf(scope, period, period.key(now));
    line.settledTokens = 0;
    line.settledMicroUsd = 0;
    line.resetAt = now;
  }

  /**
   * What {@code usage_events} says was settled in a line's current period (since its reset
   * when it had one): the line keeps the larger of that and what it holds, so neither a
   * write lost in a crash nor a usage row the recorder had not written yet lets a period
   * forget what was spent.
   */
  void derived(String scope, BudgetPeriod period, String periodKey, long tokens, long microUsd) {
    Line line = lineOf(scope, period, periodKey);
    if (line.periodKey.equals(periodKey)) {
      line.settledTokens = Math.max(line.settledTokens, tokens);
      line.settledMicroUsd = Math.max(line.settledMicroUsd, microUsd);
    }
  }

  /** The lines with an admin reset inside their current period: their totals are derived since the reset. */
  List<SavedLine> resetLines() {
    return saved().stream().filter(l -> l.resetAt() != null).toList();
  }

  List<SavedLine> saved() {
    List<SavedLine> out = new ArrayList<>();
    for (Line[] pair : lines.values()) {
      for (Line l : pair) {
        if (l != null) {
          out.add(new SavedLine(l.scope, l.period, l.periodKey, l.settledTokens, l.settledMicroUsd, l.resetAt));
        }
      }
    }
    return out;
  }

  /** The line of a scope and period as of {@code now} (rolled over if its period ended), or null if never touched. */
  Line line(String scope, BudgetPeriod period, Instant now) {
    Line[] pair = lines.get(scope);
    if (pair == null || pair[period.ordinal()] == null) {
      return null;
    }
    Line line = pair[period.ordinal()];
    line.rollTo(period.key(now));
    return line;
  }

  /** The scopes the book has lines of. */
  java.util.Set<String> scopes() {
    return lines.keySet();
  }

  int openReservations() {
    return holds.size();
  }
}
