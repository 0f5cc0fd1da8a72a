package dev.atrium.runs;

import dev.atrium.core.Futures;
import dev.atrium.core.entity.Reply;
import dev.atrium.gateway.ProviderException;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;

/**
 * Why a sub-step failed, and whether trying again could help. Infrastructure failures
 * (timeouts, 5xx, 429, connection errors) are retried with backoff; business failures
 * (validation, a refused request, insufficient credits) are not.
 */
public final class RunFailure extends RuntimeException {
  private final boolean retryable;

  private RunFailure(String message, boolean retryable, Throwable cause) {
    super(message, cause, false, false);
    this.retryable = retryable;
  }

  public static RunFailure business(String message) {
    return new RunFailure(message, false, null);
  }

  public static RunFailure infrastructure(String message, Throwable cause) {
    return new RunFailure(message, true, cause);
  }

  public boolean retryable() {
    return retryable;
  }

  /**
   * The accepted value of an entity's reply to a sub-step; a rejection is a business failure
   * (asking again gets the same answer).
   */
  public static <T> T acceptedOrFail(Reply<T> reply) {
    if (reply instanceof Reply.Rejected<T> rejected) {
      throw business(rejected.detail());
    }
    return ((Reply.Accepted<T>) reply).value();
  }

  /** Classifies any failure a sub-step's work ended with. */
  public static RunFailure of(Throwable error) {
    Throwable cause = Futures.unwrap(error);
    if (cause instanceof RunFailure f) {
      return f;
    }
    if (cause instanceof ProviderException p) {
      return new RunFailure(p.getMessage(), p.retryable(), p);
    }
    if (cause instanceof TimeoutException || cause instanceof ConnectException) {
      return infrastructure(cause.getClass().getSimpleName() + ": " + cause.getMessage(), cause);
    }
    return new RunFailure(cause.getClass().getSimpleName() + ": " + cause.getMessage(), false, cause);
  }
}
