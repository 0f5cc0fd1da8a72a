package dev.atrium.gateway.guard;

import dev.atrium.core.tenant.TenantConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tenant's blocklist rules of one direction as one case-insensitive alternation: each
 * rule is one alternative (its literal terms, quoted and bounded by non-word characters so
 * a term blocks the word and not a word it is part of, then its patterns as written), so a
 * text is scanned once however many terms there are, and a match names its rule.
 */
final class Blocklist {
  private final Scanner scanner;
  private final String[] codes;

  private Blocklist(Scanner scanner, String[] codes) {
    this.scanner = scanner;
    this.codes = codes;
  }

  /** The rules of {@code guardrails} that apply to {@code direction}, or null when none does. */
  static Blocklist of(TenantConfig.Guardrails guardrails, TenantConfig.Direction direction) {
    List<Scanner.Entry> entries = new ArrayList<>();
    List<String> codes = new ArrayList<>();
    for (TenantConfig.BlockRule rule : guardrails.blocklists()) {
      if (!rule.applyTo().contains(direction)) {
        continue;
      }
      List<String> alternatives = new ArrayList<>();
      StringBuilder starts = new StringBuilder();
      for (String term : rule.terms()) {
        char first = term.charAt(0);
        starts.append(Character.toLowerCase(first)).append(Character.toUpperCase(first));
        if (first >= 128 || !Character.isLetterOrDigit(first)) {
          // Case folding of non-ASCII letters, or a term starting with punctuation: try every position.
          starts = null;
          break;
        }
      }
      if (!rule.terms().isEmpty()) {
        // Longer terms first, so "nerve agent" is found whole where "nerve" is a term too.
        List<String> quoted = rule.terms().stream().sorted((a, b) -> b.length() - a.length())
            .map(Pattern::quote).toList();
        alternatives.add("(?<![\\w])(?:" + String.join("|", quoted) + ")(?![\\w])");
      }
      rule.patterns().forEach(p -> alternatives.add("(?:" + p + ")"));
      entries.add(new Scanner.Entry(String.join("|", alternatives), null,
          rule.patterns().isEmpty() && starts != null ? starts.toString() : null));
      codes.add(rule.code());
    }
    if (entries.isEmpty()) {
      return null;
    }
    return new Blocklist(new Scanner(entries, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE),
        codes.toArray(String[]::new));
  }

  Matcher matcher(CharSequence text) {
    return scanner.matcher(text);
  }

  /** What a scan found: how much of the text is settled, and the code of the rule that matched in it, or null. */
  record Found(int settled, String code) {}

  /** Scans {@code text} with {@code m} (its own matcher); stops at the first rule that matches. */
  Found scan(Matcher m, CharSequence text, boolean more) {
    String[] hit = {null};
    int settled = scanner.scan(m, text, more, (label, start, end) -> {
      hit[0] = codes[label];
      return false;
    });
    return new Found(settled, hit[0]);
  }

  /** The code of the first rule that matches the whole {@code text}, or null. */
  String firstMatch(CharSequence text) {
    return scan(matcher(text), text, false).code();
  }
}
