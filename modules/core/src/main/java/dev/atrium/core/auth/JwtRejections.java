package dev.atrium.core.auth;

import dev.atrium.core.http.ApiError;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The refusals of a bearer JWT: 401 with a reason code (docs/tenancy.md#jwt-reason-codes)
 * and {@code WWW-Authenticate: Bearer error="invalid_token"} (RFC 6750). Messages never
 * carry the token or a claim's value.
 */
final class JwtRejections {
  private JwtRejections() {}

  static ApiError reject(String code, String message) {
    return ApiError.unauthorized(code, message).withHeader(RawHeader.create("WWW-Authenticate",
        "Bearer realm=\"atrium\", error=\"invalid_token\", error_description=\"" + code + "\""));
  }

  /** The issuer's keys could not be fetched (and none are cached): the server's problem, not the token's. */
  /** An HMAC secret in a file or Secrets Manager that has never been read successfully. */
  static ApiError secretUnavailable() {
    return new ApiError(StatusCodes.SERVICE_UNAVAILABLE, "jwt_secret_unavailable",
        "The token issuer's secret could not be read; try again shortly.")
        .withHeader(RawHeader.create("Retry-After", "5"));
  }

  static ApiError keysUnavailable() {
    return new ApiError(StatusCodes.SERVICE_UNAVAILABLE, "jwks_unavailable",
        "The token issuer's keys could not be fetched; try again shortly.")
        .withHeader(RawHeader.create("Retry-After", "5"));
  }
}
