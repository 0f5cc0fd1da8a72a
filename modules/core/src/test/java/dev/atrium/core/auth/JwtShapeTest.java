package dev.atrium.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.util.Base64URL;
import org.junit.jupiter.api.Test;

/** A bearer credential is a JWT by its shape alone; API keys never look like one. */
class JwtShapeTest {
  static String segment(String json) {
    return Base64URL.encode(json).toString();
  }

  @Test
  void threeBase64UrlSegmentsWithAJsonHeaderNamingAnAlgorithm() {
    String payload = segment("{\"sub\":\"u\"}");
    assertThat(JwtAuthenticator.looksLikeJwt(segment("{\"alg\":\"RS256\"}") + "." + payload + ".c2ln")).isTrue();
    assertThat(JwtAuthenticator.looksLikeJwt(segment("{\"alg\":\"none\"}") + "." + payload + ".")).isTrue();
  }

  @Test
  void apiKeysAndNearMissesAreNot() {
    String payload = segment("{\"sub\":\"u\"}");
    assertThat(JwtAuthenticator.looksLikeJwt("demo-key")).isFalse();
    assertThat(JwtAuthenticator.looksLikeJwt("sk-live-0123456789abcdef0123456789abcdef")).isFalse();
    assertThat(JwtAuthenticator.looksLikeJwt("part.one.two")).isFalse(); // "part" is not a JSON header
    assertThat(JwtAuthenticator.looksLikeJwt(segment("{\"typ\":\"JWT\"}") + "." + payload + ".c2ln")).isFalse();
    assertThat(JwtAuthenticator.looksLikeJwt(segment("{\"alg\":5}") + "." + payload + ".c2ln")).isFalse();
    assertThat(JwtAuthenticator.looksLikeJwt(segment("{\"alg\":\"RS256\"}") + "." + payload)).isFalse();
    assertThat(JwtAuthenticator.looksLikeJwt(segment("{\"alg\":\"RS256\"}") + "." + payload + ".c2ln.more")).isFalse();
    assertThat(JwtAuthenticator.looksLikeJwt(segment("{\"alg\":\"RS256\"}") + "." + payload + ".c2/ln")).isFalse();
  }
}
