package dev.atrium.gateway.byok;

import java.util.Objects;

/**
 * A caller's own provider key, for one call: its family (openai, anthropic, ...), the header
 * it came in, and the secret. Not a record and never serializable, so it cannot reach an
 * event, a snapshot, a log line or JSON by accident: {@link #toString} names the family and
 * header only, and the secret leaves this object only as the outbound call's credential.
 */
public final class ProviderKey {
  private final String family;
  private final String header;
  private final String secret;

  ProviderKey(String family, String header, String secret) {
    this.family = Objects.requireNonNull(family);
    this.header = Objects.requireNonNull(header);
    this.secret = Objects.requireNonNull(secret);
  }

  public String family() {
    return family;
  }

  /** The request header it came in (for messages: "the key in x-openai-key ..."). */
  public String header() {
    return header;
  }

  /** The secret, for the outbound request's credential and nothing else. */
  public String secret() {
    return secret;
  }

  @Override
  public String toString() {
    return "ProviderKey[" + family + " from " + header + ", redacted]";
  }
}
