package dev.atrium.gateway.guard;

import java.util.List;

/**
 * Redacts personal data from text: the PII hook of a tenant's guardrails
 * ({@code guardrails.pii}). Built by a {@link RedactorFactory} found with
 * {@link java.util.ServiceLoader} by the name the tenant file gives. It is handed text
 * that may still grow (an answer as it streams): it redacts what is settled and says how
 * much that is, so a match cut in two by a chunk boundary is redacted whole once the rest
 * arrives. One instance serves every call of a tenant from many threads at once: it keeps
 * no state between calls.
 */
public interface Redactor {
  /**
   * Redacts the settled part of {@code text}. {@code more}: more text may follow, so a
   * tail that could still become (or extend) a match may be left unsettled; false: this is
   * all of it, everything is settled.
   */
  Redaction redact(CharSequence text, boolean more);

  /**
   * What {@link #redact} made of the first {@code settled} characters of its input:
   * {@code text}, their redacted form (each match replaced, e.g. {@code [redacted:email]}),
   * and the kinds it found in them, in order (repeats allowed). The rest of the input is
   * handed back with the next chunk.
   */
  record Redaction(String text, int settled, List<String> kinds) {
    public Redaction {
      kinds = List.copyOf(kinds);
    }
  }
}
