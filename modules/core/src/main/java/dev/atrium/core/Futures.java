package dev.atrium.core;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** What a failed future failed with. */
public final class Futures {
  private Futures() {}

  /**
   * The cause under the {@link CompletionException}s and {@link ExecutionException}s that
   * {@code CompletableFuture} stages wrap a failure in; the error itself when it is not wrapped.
   */
  public static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  /** {@code error} as an unchecked exception to rethrow from a stage: itself, or wrapped. */
  public static RuntimeException rethrow(Throwable error) {
    Throwable cause = unwrap(error);
    return cause instanceof RuntimeException runtime ? runtime : new CompletionException(cause);
  }
}
