package dev.atrium.core.net;

/**
 * An outbound URL the guard would not fetch, with a reason code ({@code loopback},
 * {@code private}, {@code metadata}, {@code scheme}, {@code invalid_host}, {@code denied},
 * {@code too_many_redirects}, {@code response_too_large}, ...). The message names the host at
 * most, never the path or query: those may carry a token.
 */
public final class OutboundRefused extends RuntimeException {
  private final String reason;

  public OutboundRefused(String reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  /** A short, stable code for logs, metrics and error bodies. */
  public String reason() {
    return reason;
  }
}
