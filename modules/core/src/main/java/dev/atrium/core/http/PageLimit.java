package dev.atrium.core.http;

import java.util.Optional;

/** The {@code limit} query parameter of a list: a number from 1 to a maximum, else a 400 naming it. */
public final class PageLimit {
  private PageLimit() {}

  public static int parse(Optional<String> value, int defaultValue, int max) {
    try {
      int n = value.map(Integer::parseInt).orElse(defaultValue);
      if (n < 1 || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw ApiError.badRequest("invalid_parameter", "limit must be a number from 1 to " + max).withExtension("param", "limit");
    }
  }
}
