package dev.atrium.core.http;

import dev.atrium.core.Futures;
import dev.atrium.core.entity.Reply;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * Entity replies at the edge, the one mapper from {@link Reply} to {@link ApiError}: a
 * rejection becomes its status (404, 409, 400, 503) with its code and detail, no answer in time
 * a 503 the client may retry.
 */
public final class Replies {
  private Replies() {}

  /**
   * Asks {@code entity} and answers its accepted value; fails with the rejection's
   * {@link ApiError}, or a 503 naming {@code what} ("session", "run") when it did not answer.
   */
  public static <M, T> CompletionStage<T> ask(EntityRef<M> entity, Function<ActorRef<Reply<T>>, M> command,
      Duration timeout, String what) {
    return entity.<Reply<T>>ask(command::apply, timeout).handle((reply, error) -> {
      if (error != null) {
        throw failure(error, what);
      }
      return value(reply);
    });
  }

  /** The accepted value; a rejection thrown as its {@link ApiError}. */
  public static <T> T value(Reply<T> reply) {
    if (reply instanceof Reply.Rejected<T> rejected) {
      throw toApiError(rejected);
    }
    return ((Reply.Accepted<T>) reply).value();
  }

  public static ApiError toApiError(Reply.Rejected<?> rejected) {
    StatusCode status = switch (rejected.reason()) {
      case NOT_FOUND -> StatusCodes.NOT_FOUND;
      case CONFLICT -> StatusCodes.CONFLICT;
      case INVALID -> StatusCodes.BAD_REQUEST;
      case UNAVAILABLE -> StatusCodes.SERVICE_UNAVAILABLE;
    };
    return new ApiError(status, rejected.code(), rejected.detail());
  }

  /** A failed ask as the client sees it: an {@link ApiError} as it is, a timeout as 503. */
  public static RuntimeException failure(Throwable error, String what) {
    Throwable cause = Futures.unwrap(error);
    if (cause instanceof TimeoutException) {
      return ApiError.unavailable("The " + what + " did not answer in time (it may be moving between nodes); try again.");
    }
    return Futures.rethrow(cause);
  }
}
