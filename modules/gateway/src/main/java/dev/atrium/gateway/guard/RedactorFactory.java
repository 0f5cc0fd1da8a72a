package dev.atrium.gateway.guard;

import java.util.List;

/**
 * The service a redactor is loaded through ({@code META-INF/services/dev.atrium.gateway.guard.RedactorFactory}):
 * a tenant file's {@code guardrails.pii.redactor} names one by {@link #name}, and its
 * {@code kinds} configure it. The gateway builds one redactor per tenant configuration, when
 * the node starts, so a name or kind no factory knows stops the node naming the tenant.
 */
public interface RedactorFactory {
  /** The name tenant files use ({@code pattern} for the built-in {@link PatternRedactor}). */
  String name();

  /**
   * A redactor of {@code kinds}.
   *
   * @throws IllegalArgumentException naming a kind this factory does not redact
   */
  Redactor create(List<String> kinds);
}
