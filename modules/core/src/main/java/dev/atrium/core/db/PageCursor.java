package dev.atrium.core.db;

import dev.atrium.core.http.ApiError;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Base64;

/**
 * The position after the last row of a page in a keyset-paginated list ordered by a
 * timestamp and an id, both descending: the next page asks {@code (at, id) < (cursor.at,
 * cursor.id)}, so pages stay stable while rows change. Opaque to clients: base64url of
 * {@code "<at, epoch micros>:<id>"} (PostgreSQL keeps microseconds).
 */
public record PageCursor(OffsetDateTime at, String id) {

  public String encode() {
    Instant t = at.toInstant();
    long micros = t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
    return Base64.getUrlEncoder().withoutPadding().encodeToString((micros + ":" + id).getBytes(StandardCharsets.UTF_8));
  }

  /** A cursor this API returned; anything else is a 400 {@code invalid_cursor}. */
  public static PageCursor parse(String text) {
    try {
      String decoded = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      long micros = Long.parseLong(decoded.substring(0, colon));
      Instant t = Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000), Math.floorMod(micros, 1_000_000) * 1_000L);
      return new PageCursor(t.atOffset(ZoneOffset.UTC), decoded.substring(colon + 1));
    } catch (RuntimeException e) {
      throw ApiError.badRequest("invalid_cursor", "The cursor is not one this API returned.");
    }
  }
}
