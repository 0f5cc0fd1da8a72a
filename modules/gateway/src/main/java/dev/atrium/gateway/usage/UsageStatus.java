package dev.atrium.gateway.usage;

import dev.atrium.core.Futures;
import dev.atrium.gateway.ProviderException;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;

/** How a metered call ended. */
public enum UsageStatus {
  OK, FAILED, CANCELLED, TIMED_OUT;

  /** The name stored in {@code usage_events.status}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The status of a call that ended with {@code error}: a timeout, a cancellation, or a failure. */
  public static UsageStatus of(Throwable error) {
    Throwable cause = Futures.unwrap(error);
    if (cause instanceof TimeoutException || cause instanceof ProviderException p && p.status() == 504) {
      return TIMED_OUT;
    }
    return cause instanceof CancellationException ? CANCELLED : FAILED;
  }
}
