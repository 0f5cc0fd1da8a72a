package dev.atrium.core.auth;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.secrets.Secrets;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.core.tenant.Tier;
import java.text.ParseException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Users who present a JWT of their tenant's issuer (docs/tenancy.md#jwt-authentication). The
 * tenant comes from the token's {@code iss} (or, for an issuer several tenants share, from
 * the tenant's {@code tenant_claim}), then the token is checked with that tenant's keys,
 * algorithms and claims; the answer is a {@link Principal.Kind#USER} principal. Everything
 * per tenant is built once per tenant set (again after a reload swaps the set); with cached keys a check is synchronous and touches no
 * network (the stage is already complete), a fetch of a JWKS URL completes it later.
 */
public final class JwtAuthenticator {
  public static final String ACCOUNT_HEADER = "x-account-id";
  /** Three base64url segments; the signature may be empty (an unsigned token, refused with its own reason). */
  private static final Pattern SHAPE = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");
  private static final int MAX_ID_CHARS = 256;

  private final TenantRegistry registry;
  private final JwksSource source;
  private final Clock clock;
  private final Secrets secrets;
  /** The verifiers of one tenant set; rebuilt when a reload swaps the registry's set. */
  private volatile Built built;

  /** A set of tenants and the verifiers built for it, with the JWKS caches they share by URL. */
  private record Built(TenantRegistry.Snapshot tenants, Map<String, TenantJwtVerifier> verifiers,
      Map<String, RemoteJwks> byUrl) {}

  private JwtAuthenticator(TenantRegistry registry, JwksSource source, Clock clock, Secrets secrets) {
    this.registry = registry;
    this.source = source;
    this.clock = clock;
    this.secrets = secrets;
    this.built = build(registry.snapshot(), Map.of());
  }

  /** As {@link #start(TenantRegistry, JwksSource, Clock, Secrets)} with files and variables only (no secrets manager). */
  public static JwtAuthenticator start(TenantRegistry registry, JwksSource source, Clock clock) {
    return start(registry, source, clock, Secrets.of(name -> Optional.ofNullable(System.getenv(name))));
  }

  /**
   * The verifiers of every tenant with {@code auth.jwt}; JWKS URLs start their first fetch now.
   *
   * @param secrets where HMAC secrets in files and Secrets Manager are read, cached for its TTL
   */
  public static JwtAuthenticator start(TenantRegistry registry, JwksSource source, Clock clock, Secrets secrets) {
    return new JwtAuthenticator(registry, source, clock, secrets);
  }

  /**
   * The verifiers of {@code tenants}. A JWKS URL whose cache exists for the same intervals is
   * kept (its keys stay cached across a reload); new URLs start their first fetch now.
   */
  private Built build(TenantRegistry.Snapshot tenants, Map<String, RemoteJwks> before) {
    Map<String, TenantJwtVerifier> verifiers = new HashMap<>();
    // Tenants sharing an issuer share its JWKS URL: one cache, one fetch, the shortest intervals.
    Map<String, RemoteJwks> byUrl = new HashMap<>();
    List<RemoteJwks> fresh = new java.util.ArrayList<>();
    for (TenantConfig tenant : tenants.all()) {
      TenantConfig.Jwt jwt = tenant.auth().jwt();
      if (jwt == null) {
        continue;
      }
      Optional<RemoteJwks> remote = Optional.empty();
      if (jwt.jwksUrl() != null) {
        List<TenantConfig.Jwt> same = tenants.all().stream().map(t -> t.auth().jwt())
            .filter(j -> j != null && jwt.jwksUrl().equals(j.jwksUrl())).toList();
        Duration minRefresh = Duration.ofSeconds(
            same.stream().mapToInt(TenantConfig.Jwt::jwksMinRefreshSeconds).min().orElseThrow());
        Duration cacheFor = Duration.ofSeconds(same.stream().mapToInt(TenantConfig.Jwt::jwksCacheSeconds).min().orElseThrow());
        String key = jwt.jwksUrl() + " " + minRefresh + " " + cacheFor;
        remote = Optional.of(byUrl.computeIfAbsent(key, k -> {
          RemoteJwks kept = before.get(k);
          if (kept != null) {
            return kept;
          }
          RemoteJwks made = new RemoteJwks(URI.create(jwt.jwksUrl()), source, clock, minRefresh, cacheFor);
          fresh.add(made);
          return made;
        }));
      }
      verifiers.put(tenant.id(), new TenantJwtVerifier(tenant, tenants.jwtKeys(tenant.id()), remote, clock, secrets));
    }
    fresh.forEach(RemoteJwks::refresh);
    return new Built(tenants, Map.copyOf(verifiers), Map.copyOf(byUrl));
  }

  /** The verifiers of the registry's current set: the same object until a reload swaps the set. */
  private Built current() {
    Built now = built;
    TenantRegistry.Snapshot tenants = registry.snapshot();
    if (now.tenants() == tenants) {
      return now;
    }
    synchronized (this) {
      if (built.tenants() != registry.snapshot()) {
        built = build(registry.snapshot(), built.byUrl());
      }
      return built;
    }
  }

  /**
   * Whether a bearer credential is a JWT rather than an API key: three base64url segments
   * whose first decodes to a JSON object with a string {@code alg}. Cheap enough for every request.
   */
  public static boolean looksLikeJwt(String credential) {
    if (credential.length() < 10 || credential.length() > 16_384 || !SHAPE.matcher(credential).matches()) {
      return false;
    }
    String header = credential.substring(0, credential.indexOf('.'));
    try {
      Map<String, Object> json = JSONObjectUtils.parse(new Base64URL(header).decodeToString());
      return json.get("alg") instanceof String;
    } catch (ParseException | RuntimeException e) {
      return false;
    }
  }

  /** What the request says beside the token: the tenant it names or is addressed to, and the account it picks. */
  public record RequestContext(Optional<String> tenantHeader, Optional<TenantConfig> hostTenant,
      Optional<String> accountHeader, Function<TenantConfig, String> clientIp) {}

  /**
   * The user a JWT authenticates, or a failed stage with the {@link ApiError} to answer (401
   * with a reason code; 403 for an account the token does not grant; 503 when the issuer's
   * keys cannot be had). Complete at once unless the tenant's JWKS URL must be fetched.
   */
  public CompletionStage<Principal> authenticate(String token, RequestContext request) {
    try {
      SignedJWT jwt = parse(token);
      JWTClaimsSet claims = claimsOf(jwt);
      TenantJwtVerifier verifier = verifierFor(current(), claims);
      JWSHeader header = jwt.getHeader();
      if (!verifier.allows(header.getAlgorithm())) {
        throw JwtRejections.reject("token_algorithm_not_allowed",
            "The token's algorithm (" + header.getAlgorithm().getName() + ") is not one this tenant accepts.");
      }
      CompletionStage<Void> signature = verifier.verifySignature(jwt);
      CompletableFuture<Void> now = signature.toCompletableFuture();
      if (now.isDone() && !now.isCompletedExceptionally()) {
        return CompletableFuture.completedFuture(principal(verifier, claims, request));
      }
      return signature.thenApply(ok -> principal(verifier, claims, request));
    } catch (ApiError e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static SignedJWT parse(String token) {
    String[] parts = token.split("\\.", -1);
    Algorithm alg;
    try {
      Map<String, Object> header = JSONObjectUtils.parse(new Base64URL(parts[0]).decodeToString());
      alg = Algorithm.parse(String.valueOf(header.get("alg")));
      if (header.containsKey("enc")) {
        throw JwtRejections.reject("token_malformed", "Encrypted tokens (JWE) are not accepted.");
      }
    } catch (ParseException e) {
      throw JwtRejections.reject("token_malformed", "The token's header is not valid JSON.");
    }
    if (Algorithm.NONE.equals(alg)) {
      throw JwtRejections.reject("token_unsigned", "Unsigned tokens (alg none) are not accepted.");
    }
    try {
      return SignedJWT.parse(token);
    } catch (ParseException | RuntimeException e) {
      throw JwtRejections.reject("token_malformed", "The token is not a valid signed JWT.");
    }
  }

  private static JWTClaimsSet claimsOf(SignedJWT jwt) {
    try {
      return jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw JwtRejections.reject("token_malformed", "The token's payload is not a JSON claims set.");
    }
  }

  /** The tenant the token is for, by its issuer and (for a shared issuer) the tenant claim; not yet trusted. */
  private static TenantJwtVerifier verifierFor(Built built, JWTClaimsSet claims) {
    String issuer = claims.getIssuer();
    List<TenantConfig> tenants = issuer == null ? List.of() : built.tenants().byIssuer(issuer);
    Map<String, TenantJwtVerifier> verifiers = built.verifiers();
    if (tenants.isEmpty()) {
      throw JwtRejections.reject("token_issuer_unknown", "The token's issuer (iss) is not one this server trusts.");
    }
    if (tenants.size() == 1 && tenants.get(0).auth().jwt().tenantClaim() == null) {
      return verifiers.get(tenants.get(0).id());
    }
    boolean named = false;
    for (TenantConfig tenant : tenants) {
      Object value = claims.getClaim(tenant.auth().jwt().tenantClaim());
      named |= value != null;
      if (tenant.id().equals(value)) {
        return verifiers.get(tenant.id());
      }
    }
    if (!named) {
      throw JwtRejections.reject("token_claim_missing", "The token lacks the claim that names its tenant.");
    }
    throw JwtRejections.reject("token_tenant_unknown", "The token's tenant claim names no tenant of its issuer.");
  }

  /** After the signature: claims, the tenant the request addresses, the user, tier and account. */
  private static Principal principal(TenantJwtVerifier verifier, JWTClaimsSet claims, RequestContext request) {
    verifier.verifyClaims(claims);
    TenantConfig tenant = verifier.tenant();
    if (request.tenantHeader().isPresent() && !request.tenantHeader().get().equals(tenant.id())) {
      throw JwtRejections.reject("token_tenant_mismatch", "The token belongs to another tenant than x-tenant-id names.");
    }
    if (request.tenantHeader().isEmpty() && request.hostTenant().isPresent()
        && !request.hostTenant().get().id().equals(tenant.id())) {
      throw JwtRejections.reject("token_tenant_mismatch", "The token belongs to another tenant than this host's.");
    }
    TenantConfig.JwtClaims names = tenant.auth().jwt().claims();
    String user = identifier(claims.getClaim(names.user()), names.user());
    Tier tier = tier(claims.getClaim(names.tier()), names.tier(), tenant.auth().jwt().defaultTier());
    Optional<String> account = account(claims, names, request.accountHeader());
    return Principal.ofUser(tenant, user, tier, account, request.clientIp().apply(tenant));
  }

  private static String identifier(Object value, String claim) {
    if (!(value instanceof String s) || s.isBlank() || s.length() > MAX_ID_CHARS) {
      throw JwtRejections.reject("token_claim_invalid", "The token's claim '" + claim
          + "' must be a non-empty string of at most " + MAX_ID_CHARS + " characters.");
    }
    return s;
  }

  /** FREE or PAID (any case); a token without the claim has the tenant's default tier, else it is refused. */
  private static Tier tier(Object value, String claim, Tier defaultTier) {
    if (value == null) {
      if (defaultTier == null) {
        throw JwtRejections.reject("token_claim_missing", "The token lacks the required claim '" + claim + "'.");
      }
      return defaultTier;
    }
    if (value instanceof String s) {
      String upper = s.toUpperCase(Locale.ROOT);
      if (upper.equals("FREE") || upper.equals("PAID")) {
        return Tier.valueOf(upper);
      }
    }
    throw JwtRejections.reject("token_claim_invalid", "The token's claim '" + claim + "' must be FREE or PAID.");
  }

  /**
   * The account the request acts for. With an accounts list, {@code x-account-id} picks one
   * of it (a one-element list, or the token's account claim when in the list, needs no
   * header); with a single account claim the header may only repeat it; with neither, the
   * header names nothing the token grants.
   */
  private static Optional<String> account(JWTClaimsSet claims, TenantConfig.JwtClaims names, Optional<String> header) {
    Object single = claims.getClaim(names.account());
    Object list = claims.getClaim(names.accounts());
    Optional<String> own = single == null ? Optional.empty() : Optional.of(identifier(single, names.account()));
    if (list != null) {
      if (!(list instanceof List<?> items) || items.isEmpty()) {
        throw JwtRejections.reject("token_claim_invalid", "The token's claim '" + names.accounts()
            + "' must be a non-empty list of account ids.");
      }
      List<String> accounts = items.stream().map(item -> identifier(item, names.accounts())).toList();
      if (header.isPresent()) {
        if (!accounts.contains(header.get())) {
          throw notAllowed();
        }
        return header;
      }
      if (accounts.size() == 1) {
        return Optional.of(accounts.get(0));
      }
      if (own.isPresent() && accounts.contains(own.get())) {
        return own;
      }
      throw ApiError.badRequest("account_selection_required",
          "The token grants several accounts; choose one with the x-account-id header.");
    }
    if (header.isPresent() && !header.equals(own)) {
      throw notAllowed();
    }
    return own;
  }

  private static ApiError notAllowed() {
    return ApiError.forbidden("account_not_allowed", "The token does not grant the account x-account-id names.");
  }
}
