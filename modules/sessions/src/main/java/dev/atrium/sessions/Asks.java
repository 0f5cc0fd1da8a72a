package dev.atrium.sessions;

import dev.atrium.core.http.ApiError;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.pattern.StatusReply;

/** Entity replies at the edge: "not found" is 404, a busy or finished turn 409, no answer 503. */
final class Asks {
  private Asks() {}

  static <T> CompletionStage<T> mapped(CompletionStage<T> reply) {
    return reply.handle((value, error) -> {
      if (error == null) {
        return value;
      }
      throw toApiError(error);
    });
  }

  static ApiError toApiError(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof ApiError api) {
      return api;
    }
    if (cause instanceof StatusReply.ErrorMessage message) {
      return switch (message.getMessage()) {
        case ChatSession.NOT_FOUND -> ApiError.notFound("No such session.");
        case ChatSession.EXISTS -> ApiError.conflict("session_exists", "The session exists already.");
        case ChatSession.NOT_IN_FLIGHT -> ApiError.conflict("turn_not_in_flight", "That turn is no longer in flight.");
        default -> ApiError.badRequest("invalid_request", message.getMessage());
      };
    }
    if (cause instanceof TimeoutException) {
      return new ApiError(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
          "The session did not answer in time (it may be moving between nodes); try again.");
    }
    if (cause instanceof RuntimeException runtime) {
      throw runtime;
    }
    throw new CompletionException(cause);
  }
}
