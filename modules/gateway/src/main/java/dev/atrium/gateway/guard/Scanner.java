package dev.atrium.gateway.guard;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One compiled alternation of labelled expressions (a tenant's blocklist rules, a
 * redactor's PII shapes) and the scan that finds them in text which may still grow: a
 * streamed answer arrives in chunks, and a match may straddle two of them. The scan tries
 * each start position once, in order (leftmost first, as {@code find} does); a position
 * whose attempt ran into the end of the text ({@link Matcher#hitEnd}) could still begin a
 * match once more text comes, so the scan stops there and reports everything before it as
 * settled: the caller releases that and keeps the rest for the next chunk. Positions
 * already settled are never tried again, so a chunk costs about one attempt per new
 * character. A position held longer than {@link #MAX_HOLD} characters is given up (an
 * unbounded user pattern must not hold an answer back forever).
 */
final class Scanner {
  /** The most a stream holds back for one possible match. */
  static final int MAX_HOLD = 256;

  /** A post-check of a match (a card's Luhn digit, an IBAN's mod-97): false drops it. */
  @FunctionalInterface
  interface Check {
    boolean valid(CharSequence text, int start, int end);
  }

  /** Told each settled match, in order. */
  @FunctionalInterface
  interface Hits {
    /** @return false to stop scanning (a blocklist stops at its first hit) */
    boolean hit(int label, int start, int end);
  }

  /**
   * One labelled expression: its regex, its check (null: none), and the ASCII characters a
   * match can start with ({@code startChars}; null: any), so that the scan does not try
   * positions no match can start at (a 50-term blocklist is 50 alternatives at each one).
   */
  record Entry(String regex, Check check, String startChars) {
    Entry(String regex, Check check) {
      this(regex, check, null);
    }
  }

  private final Pattern pattern;
  private final int[] groups;
  private final Check[] checks;
  /** Per ASCII character: a match may start with it; null: at any character. */
  private final boolean[] starts;

  /** @param flags {@link Pattern} flags of the whole alternation */
  Scanner(List<Entry> entries, int flags) {
    StringBuilder regex = new StringBuilder();
    groups = new int[entries.size()];
    checks = new Check[entries.size()];
    int group = 1;
    for (int i = 0; i < entries.size(); i++) {
      if (i > 0) {
        regex.append('|');
      }
      regex.append('(').append(entries.get(i).regex()).append(')');
      groups[i] = group;
      checks[i] = entries.get(i).check();
      // The entry's own groups come after its wrapping group.
      group += 1 + Pattern.compile(entries.get(i).regex(), flags).matcher("").groupCount();
    }
    pattern = Pattern.compile(regex.toString(), flags);
    boolean any = entries.stream().anyMatch(e -> e.startChars() == null);
    boolean[] table = any ? null : new boolean[128];
    if (!any) {
      for (Entry e : entries) {
        for (char c : e.startChars().toCharArray()) {
          if (c < 128) {
            table[c] = true;
          }
        }
      }
    }
    starts = table;
  }

  /** A matcher to reuse over one buffer (a stream's window); not thread-safe, as a stream stage is not. */
  Matcher matcher(CharSequence text) {
    return pattern.matcher(text).useTransparentBounds(true).useAnchoringBounds(false);
  }

  /**
   * Scans {@code text} from its start; {@code more}: more text may follow (a stream), else
   * this is all of it. Reports settled matches to {@code hits} and returns how many
   * characters are settled: all of them when {@code more} is false.
   */
  int scan(Matcher m, CharSequence text, boolean more, Hits hits) {
    m.reset(text);
    int n = text.length();
    int s = 0;
    while (s < n) {
      char c = text.charAt(s);
      if (starts != null && c < 128 && !starts[c]) {
        s++;
        continue;
      }
      m.region(s, n);
      boolean matched = m.lookingAt();
      boolean pending = more && m.hitEnd() && n - s <= MAX_HOLD;
      if (pending) {
        return s;
      }
      if (matched && m.end() > s) {
        int label = label(m);
        Check check = checks[label];
        if (check == null || check.valid(text, s, m.end())) {
          int end = m.end();
          if (!hits.hit(label, s, end)) {
            return end;
          }
          s = end;
          continue;
        }
      }
      s++;
    }
    return n;
  }

  private int label(Matcher m) {
    for (int i = 0; i < groups.length; i++) {
      if (m.start(groups[i]) >= 0) {
        return i;
      }
    }
    throw new IllegalStateException("a match of no entry");
  }
}
