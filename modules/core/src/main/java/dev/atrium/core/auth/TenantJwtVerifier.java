package dev.atrium.core.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import dev.atrium.core.secrets.Secrets;
import dev.atrium.core.tenant.JwtKeyMaterial;
import dev.atrium.core.tenant.TenantConfig;
import java.time.Clock;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;

/**
 * One tenant's JWT checks, built once when the server starts: the algorithms it allows, its
 * keys (a JWKS file read at load, an HMAC secret as {@link Secrets} has it now, or a {@link RemoteJwks}) and nimbus's claims
 * verifier (issuer, audience, required claims, expiry with {@value #CLOCK_SKEW_SECONDS} s of
 * skew). Key selection and signatures are nimbus's: {@link JWKMatcher#forJWSHeader} over an
 * {@link ImmutableJWKSet}, then the verifier of the selected key's type (nimbus's own
 * verifier factory has none for Ed25519, hence the switch on the key type).
 */
final class TenantJwtVerifier {
  static final int CLOCK_SKEW_SECONDS = 60;

  private final TenantConfig tenant;
  private final TenantConfig.Jwt settings;
  private final Set<JWSAlgorithm> algorithms;
  /** A JWKS file's keys or an HMAC secret (resolved through {@link #secrets} per token); empty: a JWKS URL. */
  private final Optional<JwtKeyMaterial> material;
  private final Secrets secrets;
  private final boolean secret;
  private final Optional<RemoteJwks> remote;
  private final DefaultJWTClaimsVerifier<SecurityContext> claims;

  TenantJwtVerifier(TenantConfig tenant, Optional<JwtKeyMaterial> material, Optional<RemoteJwks> remote, Clock clock,
      Secrets secrets) {
    this.tenant = tenant;
    this.settings = tenant.auth().jwt();
    this.algorithms = settings.algorithms().stream().map(JWSAlgorithm::parse).collect(Collectors.toUnmodifiableSet());
    this.material = material;
    this.secrets = secrets;
    this.secret = material.map(JwtKeyMaterial::secret).orElse(false);
    this.remote = remote;
    Set<String> required = new HashSet<>(List.of("iss", "exp", settings.claims().user()));
    this.claims = new DefaultJWTClaimsVerifier<>(
        settings.audience().isEmpty() ? null : Set.copyOf(settings.audience()),
        new JWTClaimsSet.Builder().issuer(settings.issuer()).build(), required, null) {
      @Override
      protected Date currentTime() {
        return Date.from(clock.instant());
      }
    };
    this.claims.setMaxClockSkew(CLOCK_SKEW_SECONDS);
  }

  TenantConfig tenant() {
    return tenant;
  }

  boolean allows(JWSAlgorithm algorithm) {
    return algorithms.contains(algorithm);
  }

  /**
   * Checks the signature: at once with cached keys, after one refresh of the JWKS URL when
   * no cached key fits the token's header (a new {@code kid}). Fails with the reason.
   */
  CompletionStage<Void> verifySignature(SignedJWT jwt) {
    if (material.isPresent()) {
      Optional<ImmutableJWKSet<SecurityContext>> keys = material.get().keys(secrets);
      return keys.isEmpty() ? CompletableFuture.failedFuture(JwtRejections.secretUnavailable())
          : done(check(jwt, keys.get()));
    }
    RemoteJwks jwks = remote.orElseThrow();
    Optional<JWKSet> cached = jwks.current();
    if (cached.isPresent()) {
      Outcome outcome = check(jwt, new ImmutableJWKSet<>(cached.get()));
      if (outcome != Outcome.NO_KEY) {
        return done(outcome);
      }
    }
    return jwks.refresh().thenCompose(keys -> {
      if (keys.isEmpty()) {
        return CompletableFuture.failedFuture(JwtRejections.keysUnavailable());
      }
      return done(check(jwt, new ImmutableJWKSet<>(keys.get())));
    });
  }

  /** Nimbus's claims checks, mapped to reason codes (its messages name claims, never their values). */
  void verifyClaims(JWTClaimsSet set) {
    try {
      claims.verify(set, null);
    } catch (ExpiredJWTException e) {
      throw JwtRejections.reject("token_expired", "The token has expired.");
    } catch (BadJWTException e) {
      String message = String.valueOf(e.getMessage());
      if (message.startsWith("JWT before use time")) {
        throw JwtRejections.reject("token_not_yet_valid", "The token is not valid yet (nbf).");
      }
      if (message.contains(" aud ") || message.contains("aud claim")) {
        throw JwtRejections.reject("token_audience_invalid", "The token's audience (aud) is not this tenant's.");
      }
      if (message.startsWith("JWT iss claim")) {
        throw JwtRejections.reject("token_issuer_invalid", "The token's issuer (iss) is not this tenant's.");
      }
      if (message.startsWith("JWT missing required claims")) {
        Set<String> missing = new HashSet<>(List.of("iss", "exp", settings.claims().user()));
        missing.removeAll(set.getClaims().keySet());
        throw JwtRejections.reject("token_claim_missing", "The token lacks the required claim(s) "
            + missing.stream().sorted().toList() + ".");
      }
      throw JwtRejections.reject("token_claims_invalid", "The token's claims were refused.");
    }
  }

  private enum Outcome { VALID, NO_KEY, BAD_SIGNATURE }

  private static CompletionStage<Void> done(Outcome outcome) {
    return switch (outcome) {
      case VALID -> CompletableFuture.completedFuture(null);
      case NO_KEY -> CompletableFuture.failedFuture(
          JwtRejections.reject("token_key_unknown", "No key of the issuer matches the token's key id (kid)."));
      case BAD_SIGNATURE -> CompletableFuture.failedFuture(
          JwtRejections.reject("token_signature_invalid", "The token's signature does not verify."));
    };
  }

  private Outcome check(SignedJWT jwt, ImmutableJWKSet<SecurityContext> keys) {
    // A secret is the tenant's one HMAC key whatever kid the token names; key sets match on kid and type.
    JWKMatcher matcher = secret ? new JWKMatcher.Builder().keyType(KeyType.OCT).build()
        : JWKMatcher.forJWSHeader(jwt.getHeader());
    if (matcher == null) {
      return Outcome.NO_KEY;
    }
    List<JWK> candidates = keys.get(new JWKSelector(matcher), null);
    if (candidates.isEmpty()) {
      return Outcome.NO_KEY;
    }
    for (JWK key : candidates) {
      try {
        JWSVerifier verifier = verifierFor(key);
        if (verifier != null && verifier.supportedJWSAlgorithms().contains(jwt.getHeader().getAlgorithm())
            && jwt.verify(verifier)) {
          return Outcome.VALID;
        }
      } catch (JOSEException | IllegalStateException e) {
        // A key that cannot verify this token is not a match; try the next.
      }
    }
    return Outcome.BAD_SIGNATURE;
  }

  private static JWSVerifier verifierFor(JWK key) throws JOSEException {
    if (key instanceof RSAKey rsa) {
      return new RSASSAVerifier(rsa);
    }
    if (key instanceof ECKey ec) {
      return new ECDSAVerifier(ec);
    }
    if (key instanceof OctetKeyPair okp) {
      return new Ed25519Verifier(okp.toPublicJWK());
    }
    if (key instanceof OctetSequenceKey oct) {
      return new MACVerifier(oct);
    }
    return null;
  }
}
