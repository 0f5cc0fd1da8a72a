package dev.atrium.server;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.ApiKeys;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The admin port's bearer token ({@code ATRIUM_ADMIN_TOKEN}). Compared in constant time
 * through its hash; never logged and never echoed.
 */
final class AdminAuth {
  private final byte[] tokenHash;

  AdminAuth(String token) {
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException("the admin token is empty");
    }
    this.tokenHash = ApiKeys.sha256(token).getBytes(StandardCharsets.US_ASCII);
  }

  /** A random token for dev mode: 32 bytes, URL-safe base64. */
  static String generate() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return "atrium_admin_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  Route require(Supplier<Route> inner) {
    return extractRequest(request -> {
      String presented = request.getHeader("authorization").map(HttpHeader::value)
          .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
          .map(v -> v.substring(7).trim())
          .orElse("");
      byte[] presentedHash = ApiKeys.sha256(presented).getBytes(StandardCharsets.US_ASCII);
      if (presented.isEmpty() || !MessageDigest.isEqual(tokenHash, presentedHash)) {
        throw ApiError.unauthorized("invalid_admin_token",
                "Admin routes need 'Authorization: Bearer <admin token>' (ATRIUM_ADMIN_TOKEN).")
            .withHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"atrium-admin\""));
      }
      return inner.get();
    });
  }
}
