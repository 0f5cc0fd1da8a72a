package dev.atrium.testkit;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.Ed25519Signer;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A JWT issuer for tests: RSA, EC P-256 and Ed25519 keys (nimbus's generators), its JWKS
 * served over real HTTP on 127.0.0.1 at {@link #jwksUrl()} (fetches counted), keys added
 * under new kids (a rotation), and tokens minted with any claims, algorithm and kid, the
 * attacks included: unsigned ({@code alg: none}), HS256 keyed with the RSA public key, a
 * payload changed after signing.
 */
public final class TestIssuer implements AutoCloseable {
  private final HttpServer server;
  private final Clock clock;
  private final String issuer;
  private final List<JWK> keys = new CopyOnWriteArrayList<>();
  private final AtomicInteger fetches = new AtomicInteger();
  private final AtomicBoolean failing = new AtomicBoolean();

  private TestIssuer(HttpServer server, Clock clock, String issuer) {
    this.server = server;
    this.clock = clock;
    this.issuer = issuer;
  }

  /** An issuer whose {@code iss} is its own base URL, timing tokens with {@code clock}. */
  public static TestIssuer start(Clock clock) {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      TestIssuer issuer = new TestIssuer(server, clock,
          "http://127.0.0.1:" + server.getAddress().getPort());
      server.createContext("/jwks.json", exchange -> {
        issuer.fetches.incrementAndGet();
        byte[] body = issuer.failing.get() ? "{\"error\":\"down\"}".getBytes(StandardCharsets.UTF_8)
            : issuer.publishedJwks().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(issuer.failing.get() ? 500 : 200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
      });
      server.start();
      issuer.addKey(JWSAlgorithm.RS256);
      issuer.addKey(JWSAlgorithm.ES256);
      issuer.addKey(JWSAlgorithm.EdDSA);
      return issuer;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static TestIssuer start() {
    return start(Clock.systemUTC());
  }

  public String issuer() {
    return issuer;
  }

  public String jwksUrl() {
    return issuer + "/jwks.json";
  }

  /** How many times the JWKS was fetched. */
  public int jwksFetches() {
    return fetches.get();
  }

  /** Whether the JWKS URL answers 500. */
  public void failing(boolean fail) {
    failing.set(fail);
  }

  /** The public keys, as the JWKS URL serves them. */
  public String publishedJwks() {
    return new JWKSet(new ArrayList<>(keys)).toPublicJWKSet().toString();
  }

  /** Generates a key for {@code alg} (RS256, ES256 or EdDSA) under a new kid, published from now on; its kid. */
  public String addKey(JWSAlgorithm alg) {
    String kid = alg.getName().toLowerCase(java.util.Locale.ROOT) + "-" + UUID.randomUUID().toString().substring(0, 8);
    try {
      JWK key;
      if (JWSAlgorithm.RS256.equals(alg)) {
        key = new RSAKeyGenerator(2048).keyID(kid).algorithm(alg).generate();
      } else if (JWSAlgorithm.ES256.equals(alg)) {
        key = new ECKeyGenerator(Curve.P_256).keyID(kid).algorithm(alg).generate();
      } else if (JWSAlgorithm.EdDSA.equals(alg)) {
        key = new OctetKeyPairGenerator(Curve.Ed25519).keyID(kid).algorithm(alg).generate();
      } else {
        throw new IllegalArgumentException("no key pair for " + alg);
      }
      keys.add(key);
      return kid;
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The newest key's kid for {@code alg}. */
  public String kid(JWSAlgorithm alg) {
    return newest(alg).getKeyID();
  }

  /** Claims with this issuer, subject {@code sub}, issued now and expiring in five minutes (by the clock). */
  public JWTClaimsSet.Builder claims(String sub) {
    Date now = Date.from(clock.instant());
    return new JWTClaimsSet.Builder().issuer(issuer).subject(sub).issueTime(now)
        .expirationTime(Date.from(clock.instant().plus(Duration.ofMinutes(5))));
  }

  /** Signed with the newest key of {@code alg}, its kid in the header. */
  public String sign(JWSAlgorithm alg, JWTClaimsSet claims) {
    return sign(alg, newest(alg).getKeyID(), claims);
  }

  /** Signed with the newest key of {@code alg}, {@code kid} in the header (any kid: an unknown one too). */
  public String sign(JWSAlgorithm alg, String kid, JWTClaimsSet claims) {
    JWK key = newest(alg);
    try {
      JWSSigner signer;
      if (key instanceof RSAKey rsa) {
        signer = new RSASSASigner(rsa);
      } else if (key instanceof ECKey ec) {
        signer = new ECDSASigner(ec);
      } else {
        signer = new Ed25519Signer((OctetKeyPair) key);
      }
      return signed(new JWSHeader.Builder(alg).keyID(kid).type(JOSEObjectType.JWT).build(), claims, signer);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** HS256 with {@code secret} (no kid). */
  public static String signHs256(byte[] secret, JWTClaimsSet claims) {
    try {
      return signed(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims,
          new MACSigner(secret));
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Attack: {@code alg: none}, no signature. */
  public static String unsigned(JWTClaimsSet claims) {
    return new PlainJWT(claims).serialize();
  }

  /**
   * Attack: HS256 keyed with the RSA key's public bytes (X.509 DER, what a verifier that lets the
   * token choose the algorithm would feed its HMAC), under the RSA key's kid.
   */
  public String hs256WithRsaPublicKey(JWTClaimsSet claims) {
    RSAKey rsa = (RSAKey) newest(JWSAlgorithm.RS256);
    try {
      byte[] publicBytes = rsa.toRSAPublicKey().getEncoded();
      return signed(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(rsa.getKeyID()).type(JOSEObjectType.JWT).build(),
          claims, new MACSigner(publicBytes));
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Attack: {@code token}'s header and signature around another payload ({@code claims}). */
  public static String tampered(String token, JWTClaimsSet claims) {
    String[] parts = token.split("\\.");
    return parts[0] + "." + Base64URL.encode(claims.toString().getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
  }

  /** A raw token from a header and payload JSON, and a signature part (any text). */
  public static String raw(Map<String, Object> header, String payloadJson, String signature) {
    return Base64URL.encode(com.nimbusds.jose.util.JSONObjectUtils.toJSONString(header)) + "."
        + Base64URL.encode(payloadJson.getBytes(StandardCharsets.UTF_8)) + "." + signature;
  }

  private static String signed(JWSHeader header, JWTClaimsSet claims, JWSSigner signer) throws JOSEException {
    SignedJWT jwt = new SignedJWT(header, claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  private JWK newest(JWSAlgorithm alg) {
    for (int i = keys.size() - 1; i >= 0; i--) {
      if (alg.equals(keys.get(i).getAlgorithm())) {
        return keys.get(i);
      }
    }
    throw new IllegalArgumentException("no key for " + alg);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
