package dev.atrium.core.http;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code Idempotency-Key} request header: a resend with the same key gets the same
 * result (a chat turn, a run) instead of doing the work again. 1 to 255 visible ASCII
 * characters; anything else is a 400 before any work.
 */
public final class IdempotencyKey {
  public static final String HEADER = "Idempotency-Key";
  private static final Pattern VALID = Pattern.compile("[\\x21-\\x7E]{1,255}");

  private IdempotencyKey() {}

  /** The key as sent, checked. */
  public static Optional<String> checked(Optional<String> key) {
    key.filter(k -> !VALID.matcher(k).matches()).ifPresent(k -> {
      throw ApiError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
          .withExtension("param", HEADER);
    });
    return key;
  }
}
