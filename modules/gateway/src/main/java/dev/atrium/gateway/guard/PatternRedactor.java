package dev.atrium.gateway.guard;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * The built-in redactor ({@code "redactor": "pattern"}): e-mail addresses, phone numbers
 * (international {@code +} numbers and the common national shapes with separators:
 * {@code (415) 555-2671}, {@code 415-555-2671}, {@code 020 7946 0958}; a bare run of
 * digits is not a phone number), card numbers (13 to 19 digits, spaces or dashes allowed
 * between them, kept only when the Luhn check digit is right) and IBANs (country code,
 * check digits and 11 to 30 letters or digits, spaces allowed, kept only when the mod-97
 * check holds). Each match becomes {@code [redacted:<kind>]}. All kinds are one compiled
 * alternation, scanned once ({@link Scanner}).
 */
public final class PatternRedactor implements Redactor {
  private static final String UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  private static final String DIGITS = "0123456789";
  /** The shapes by kind, in the order they are tried at a position. */
  private static final Map<String, Scanner.Entry> SHAPES = new LinkedHashMap<>();

  static {
    SHAPES.put("iban", new Scanner.Entry(
        "(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])", PatternRedactor::ibanValid, UPPER));
    SHAPES.put("email", new Scanner.Entry(
        "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])",
        null, UPPER + UPPER.toLowerCase(java.util.Locale.ROOT) + DIGITS + "._%+-"));
    SHAPES.put("card", new Scanner.Entry("(?<![0-9-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])", PatternRedactor::luhnValid,
        DIGITS));
    SHAPES.put("phone", new Scanner.Entry("(?<![A-Za-z0-9+(.-])(?:"
        + "\\+[0-9]{1,3}(?:[ .-]?(?:\\([0-9]{1,4}\\)|[0-9]{1,4})){2,5}"
        + "|\\([0-9]{2,5}\\)[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,4}"
        + "|[0-9]{3}[.-][0-9]{3}[.-][0-9]{4}"
        + "|0[0-9]{1,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4}"
        + ")(?![A-Za-z0-9-])", PatternRedactor::phoneDigits, DIGITS + "+("));
  }

  /** The kinds this redactor knows. */
  public static final List<String> KINDS = List.copyOf(SHAPES.keySet());

  private final Scanner scanner;
  private final String[] kinds;
  private final String[] replacements;

  /** Looked up by {@link java.util.ServiceLoader} under the name {@code pattern}. */
  public static final class Factory implements RedactorFactory {
    @Override
    public String name() {
      return "pattern";
    }

    @Override
    public Redactor create(List<String> kinds) {
      return new PatternRedactor(kinds);
    }
  }

  /** @throws IllegalArgumentException for a kind other than email, phone, card and iban */
  public PatternRedactor(List<String> kinds) {
    List<Scanner.Entry> entries = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (String kind : SHAPES.keySet()) {
      if (kinds.contains(kind)) {
        entries.add(SHAPES.get(kind));
        names.add(kind);
      }
    }
    for (String kind : kinds) {
      if (!SHAPES.containsKey(kind)) {
        throw new IllegalArgumentException("the pattern redactor knows no kind '" + kind + "' (it knows " + KINDS + ")");
      }
    }
    this.scanner = new Scanner(entries, 0);
    this.kinds = names.toArray(String[]::new);
    this.replacements = names.stream().map(k -> "[redacted:" + k + "]").toArray(String[]::new);
  }

  @Override
  public Redaction redact(CharSequence text, boolean more) {
    Matcher m = scanner.matcher(text);
    List<String> found = new ArrayList<>(0);
    StringBuilder out = new StringBuilder(text.length());
    int[] copied = {0};
    int settled = scanner.scan(m, text, more, (label, start, end) -> {
      out.append(text, copied[0], start).append(replacements[label]);
      copied[0] = end;
      found.add(kinds[label]);
      return true;
    });
    out.append(text, copied[0], settled);
    return new Redaction(out.toString(), settled, found);
  }

  /** The Luhn check over the digits of a card number (separators skipped). */
  static boolean luhnValid(CharSequence text, int start, int end) {
    int sum = 0;
    boolean doubled = false;
    for (int i = end - 1; i >= start; i--) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        continue;
      }
      int d = c - '0';
      if (doubled) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
      doubled = !doubled;
    }
    return sum % 10 == 0;
  }

  /**
   * The ISO 13616 check: 15 to 34 characters without spaces; the first four moved to the
   * end, letters as numbers (A = 10 ... Z = 35), the whole number modulo 97 is 1.
   */
  static boolean ibanValid(CharSequence text, int start, int end) {
    int length = 0;
    for (int i = start; i < end; i++) {
      if (text.charAt(i) != ' ') {
        length++;
      }
    }
    if (length < 15 || length > 34) {
      return false;
    }
    int remainder = 0;
    int rearranged = 0;
    // The characters after the first four, then the first four.
    for (int pass = 0; pass < 2; pass++) {
      int seen = 0;
      for (int i = start; i < end; i++) {
        char c = text.charAt(i);
        if (c == ' ') {
          continue;
        }
        boolean head = seen++ < 4;
        if (head != (pass == 1)) {
          continue;
        }
        int value = c >= 'A' && c <= 'Z' ? c - 'A' + 10 : c - '0';
        remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
        rearranged++;
      }
    }
    return rearranged == length && remainder == 1;
  }

  /** A phone number has 7 to 15 digits (E.164 allows 15). */
  static boolean phoneDigits(CharSequence text, int start, int end) {
    int digits = 0;
    for (int i = start; i < end; i++) {
      char c = text.charAt(i);
      if (c >= '0' && c <= '9') {
        digits++;
      }
    }
    return digits >= 7 && digits <= 15;
  }
}
