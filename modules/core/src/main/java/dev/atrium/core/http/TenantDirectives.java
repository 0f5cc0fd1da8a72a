package dev.atrium.core.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractClientIP;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeaders;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.reject;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.auth.JwksSource;
import dev.atrium.core.auth.JwtAuthenticator;
import dev.atrium.core.limits.ClientAddress;
import dev.atrium.core.limits.RateLimiter;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.net.OutboundFetch;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.http.cors.javadsl.CorsDirectives;
import org.apache.pekko.http.cors.javadsl.model.HttpHeaderRanges;
import org.apache.pekko.http.cors.javadsl.model.HttpOriginMatcher;
import org.apache.pekko.http.cors.javadsl.settings.CorsSettings;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpOrigin;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Tenant and principal resolution (DESIGN.md §3) and what follows from the tenant: its
 * request size limit and its CORS origins. Nothing here touches storage or a model, so a
 * request without a tenant is refused before any such work.
 */
public final class TenantDirectives {
  public static final String TENANT_HEADER = "x-tenant-id";
  private static final Pattern TENANT_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
  private static final List<String> EXPOSED_HEADERS =
      List.of(Edge.REQUEST_ID_HEADER, "RateLimit", "RateLimit-Policy", "Retry-After");

  private final TenantRegistry tenants;
  private final RateLimiter limiter;
  private final JwtAuthenticator jwt;
  /** Built from a tenant's settings, with the settings it was built from: built again when a reload changes them. */
  private record Derived<S, V>(S source, V value) {}

  private final Map<String, Derived<List<String>, CorsSettings>> corsByTenant = new ConcurrentHashMap<>();
  private final Map<String, Derived<List<String>, List<ClientAddress.Cidr>>> proxiesByTenant = new ConcurrentHashMap<>();
  private final CorsSettings refuseAll;

  /** Without rate limits (tests and tools). */
  public TenantDirectives(TenantRegistry tenants) {
    this(tenants, RateLimiter.UNLIMITED);
  }

  /** JWTs checked with keys fetched through the outbound-URL guard as the default config sets it, against the system clock. */
  public TenantDirectives(TenantRegistry tenants, RateLimiter limiter) {
    this(tenants, limiter, JwtAuthenticator.start(tenants,
        JwksSource.guarded(OutboundFetch.fromConfig(ConfigFactory.load(), ForkJoinPool.commonPool())),
        java.time.Clock.systemUTC()));
  }

  public TenantDirectives(TenantRegistry tenants, RateLimiter limiter, JwtAuthenticator jwt) {
    this.tenants = tenants;
    this.limiter = limiter;
    this.jwt = jwt;
    this.refuseAll = corsSettings(List.of());
  }

  public RateLimiter limiter() {
    return limiter;
  }

  public TenantRegistry registry() {
    return tenants;
  }

  /**
   * Resolves the caller for a route of the given class and runs {@code inner} with it,
   * under the tenant's size limit and CORS policy. Refusals: unknown key 401, key of
   * another tenant than {@code x-tenant-id} 403, anonymous request on a class the tenant
   * does not open to anonymous callers 401, no tenant at all 401. A bearer credential shaped
   * like a JWT is a user's token ({@link JwtAuthenticator}: 401 with its reason code).
   */
  public Route principal(RouteClass routeClass, Function<Principal, Route> inner) {
    return principal(routeClass, (tenant, request) -> requestLimit(tenant), inner);
  }

  /** The tenant's general body limit ({@code limits.max_request_bytes}). */
  public static BodyLimit requestLimit(TenantConfig tenant) {
    return new BodyLimit(tenant.limits().maxRequestBytes(), "max_request_bytes");
  }

  /**
   * As {@link #principal(RouteClass, Function)}, with the route's own body limit instead of the
   * tenant's general one (document uploads take archives up to {@code max_archive_bytes}); a
   * body declared over it is refused before it is read ({@link BodyLimit}).
   */
  public Route principal(RouteClass routeClass, BiFunction<TenantConfig, HttpRequest, BodyLimit> bodyLimit,
      Function<Principal, Route> inner) {
    return extractRequest(request -> extractClientIP(ip -> {
      RequestInfo info = RequestInfo.of(request);
      info.routeClass(routeClass);
      InetAddress peer = ip.getAddress().orElse(null);
      Optional<String> token = bearer(request).filter(JwtAuthenticator::looksLikeJwt);
      if (token.isPresent()) {
        // Cached keys answer at once (no hop through a future); a JWKS fetch is awaited, never blocked on.
        CompletableFuture<Principal> user =
            jwt.authenticate(token.get(), jwtContext(request, peer)).toCompletableFuture();
        if (user.isDone()) {
          return withPrincipal(info, request, routeClass, joined(user), bodyLimit, inner);
        }
        return onComplete(user, result -> {
          if (result.isFailure()) {
            throw unwrapped(result.failed().get());
          }
          return withPrincipal(info, request, routeClass, result.get(), bodyLimit, inner);
        });
      }
      return withPrincipal(info, request, routeClass, resolve(request, peer, routeClass), bodyLimit, inner);
    }));
  }

  private Route withPrincipal(RequestInfo info, HttpRequest request, RouteClass routeClass, Principal principal,
      BiFunction<TenantConfig, HttpRequest, BodyLimit> bodyLimit, Function<Principal, Route> inner) {
    info.principal(principal);
    // The tenant of the set in force now: one a reload removed since the credential was looked up is gone.
    TenantConfig tenant = tenants.byId(principal.tenantId())
        .orElseThrow(() -> missingCredentials("No such tenant."));
    return bodyLimit.apply(tenant, request).apply(() ->
        CorsDirectives.cors(corsFor(tenant), () -> limited(info, request, tenant, principal, routeClass,
            () -> inner.apply(principal))));
  }

  private JwtAuthenticator.RequestContext jwtContext(HttpRequest request, InetAddress peer) {
    Optional<String> tenantHeader = request.getHeader(TENANT_HEADER).map(HttpHeader::value).map(String::trim);
    if (tenantHeader.isPresent() && !TENANT_ID.matcher(tenantHeader.get()).matches()) {
      throw ApiError.badRequest("invalid_tenant_id",
          "x-tenant-id must be a tenant id: lower-case letters, digits, '-' and '_'.");
    }
    return new JwtAuthenticator.RequestContext(tenantHeader, hostOf(request).flatMap(tenants::byHost),
        request.getHeader(JwtAuthenticator.ACCOUNT_HEADER).map(HttpHeader::value).map(String::trim)
            .filter(a -> !a.isEmpty()),
        tenant -> clientIp(request, peer, tenant));
  }

  private static Principal joined(CompletableFuture<Principal> user) {
    try {
      return user.join();
    } catch (CompletionException | CancellationException e) {
      throw unwrapped(e);
    }
  }

  private static RuntimeException unwrapped(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause instanceof RuntimeException runtime ? runtime : new IllegalStateException(cause);
  }

  /** The request id the edge gave this request (for usage rows and logs of work it starts). */
  public static Route requestId(Function<String, Route> inner) {
    return extractRequest(request -> inner.apply(RequestInfo.of(request).requestId()));
  }

  /**
   * The rate limit, before any handler work: allowed requests carry RateLimit-Policy and
   * RateLimit (draft-ietf-httpapi-ratelimit-headers); denied ones get 429 with Retry-After.
   * A limiter that cannot answer in time is the tenant's {@code on_limiter_unavailable}.
   */
  private Route limited(RequestInfo info, HttpRequest request, TenantConfig tenant, Principal principal,
      RouteClass routeClass, java.util.function.Supplier<Route> inner) {
    return onComplete(limiter.check(principal, routeClass, 1), result -> {
      if (result.isFailure()) {
        if (tenant.onLimiterUnavailable() == TenantConfig.OnLimiterUnavailable.ALLOW) {
          return inner.get();
        }
        return complete(ErrorResponses.render(info.shape(), StatusCodes.SERVICE_UNAVAILABLE, "limiter_unavailable",
            "The rate limiter did not answer in time; try again.", info.requestId(), request.getUri().path(),
            Map.of(), List.of(RawHeader.create("Retry-After", "1"))));
      }
      RateLimiter.Decision decision = result.get();
      if (decision == null) {
        return inner.get();
      }
      List<HttpHeader> headers = rateLimitHeaders(decision);
      if (decision.allowed()) {
        return respondWithHeaders(headers, inner);
      }
      List<HttpHeader> denied = new java.util.ArrayList<>(headers);
      denied.add(RawHeader.create("Retry-After", Long.toString(decision.retryAfterSeconds())));
      return complete(ErrorResponses.render(info.shape(), StatusCodes.TOO_MANY_REQUESTS, "rate_limit_exceeded",
          "Rate limit reached for " + decision.policy() + " requests (" + decision.quota() + " per "
              + decision.windowSeconds() + " s); try again in " + decision.retryAfterSeconds() + " s.",
          info.requestId(), request.getUri().path(), Map.of("retry_after_seconds", decision.retryAfterSeconds()),
          denied));
    });
  }

  /**
   * Runs {@code inner} with a stream slot of the caller's client and tenant; over a cap the
   * request is answered 429 at once, a limiter that cannot answer in time is the tenant's
   * {@code on_limiter_unavailable}. {@code inner} owns the slot from then on and must release
   * it however it ends; a failure of {@code inner} itself releases it here.
   */
  public Route streamSlot(Principal principal, RouteClass routeClass, Function<StreamSlot, Route> inner) {
    TenantConfig tenant = tenants.byId(principal.tenantId()).orElseThrow();
    return onComplete(limiter.openStream(principal, routeClass), result -> {
      StreamSlot slot;
      if (result.isFailure()) {
        if (tenant.onLimiterUnavailable() != TenantConfig.OnLimiterUnavailable.ALLOW) {
          throw ApiError.unavailable("The stream limiter did not answer in time; try again.")
              .withHeader(RawHeader.create("Retry-After", "1"));
        }
        slot = StreamSlot.UNLIMITED;
      } else {
        slot = result.get();
      }
      if (!slot.granted()) {
        throw new ApiError(StatusCodes.TOO_MANY_REQUESTS, "stream_limit_exceeded",
            "Too many open streams for this " + slot.deniedBy() + " (at most " + slot.cap()
                + " at once); close one or try again shortly.")
            .withHeader(RawHeader.create("Retry-After", "1"));
      }
      try {
        return inner.apply(slot);
      } catch (RuntimeException e) {
        slot.release();
        throw e;
      }
    });
  }

  /** {@code RateLimit-Policy: "chat";q=60;w=60} and {@code RateLimit: "chat";r=41;t=12}. */
  public static List<HttpHeader> rateLimitHeaders(RateLimiter.Decision d) {
    String name = "\"" + d.policy() + "\"";
    return List.of(
        RawHeader.create("RateLimit-Policy", name + ";q=" + d.quota() + ";w=" + d.windowSeconds()),
        RawHeader.create("RateLimit", name + ";r=" + d.remaining() + ";t=" + d.resetSeconds()));
  }

  /**
   * Answers CORS preflight requests, which carry no credentials: the tenant comes from the
   * host name, else from the tenants whose allowed origins include the request's origin.
   * Every other request passes through untouched.
   */
  public Route preflight(Route inner) {
    return extractRequest(request -> {
      boolean isPreflight = request.method().equals(HttpMethods.OPTIONS)
          && request.getHeader("origin").isPresent()
          && request.getHeader("access-control-request-method").isPresent();
      if (!isPreflight) {
        return inner;
      }
      String origin = request.getHeader("origin").map(HttpHeader::value).orElse("");
      CorsSettings settings = hostOf(request).flatMap(tenants::byHost).map(this::corsFor)
          .orElseGet(() -> tenants.all().stream()
              .filter(t -> t.cors().allowedOrigins().contains(origin))
              .findFirst().map(t -> corsSettings(List.of(origin)))
              .orElse(refuseAll));
      return CorsDirectives.cors(settings, () -> reject());
    });
  }

  Principal resolve(HttpRequest request, InetAddress peer, RouteClass routeClass) {
    Optional<String> credential = credential(request);
    Optional<String> tenantHeader = request.getHeader(TENANT_HEADER).map(HttpHeader::value).map(String::trim);
    if (credential.isPresent()) {
      TenantRegistry.KeyMatch match = tenants.byKey(credential.get())
          .orElseThrow(() -> ApiError.unauthorized("invalid_api_key", "The API key is not valid.")
              .withHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"atrium\", error=\"invalid_token\"")));
      if (tenantHeader.isPresent() && !tenantHeader.get().equals(match.tenant().id())) {
        throw ApiError.forbidden("tenant_mismatch", "The API key does not belong to the tenant named by x-tenant-id.");
      }
      return Principal.ofKey(match.tenant(), match.key(), clientIp(request, peer, match.tenant()));
    }
    TenantConfig tenant;
    if (tenantHeader.isPresent()) {
      if (!TENANT_ID.matcher(tenantHeader.get()).matches()) {
        throw ApiError.badRequest("invalid_tenant_id",
            "x-tenant-id must be a tenant id: lower-case letters, digits, '-' and '_'.");
      }
      tenant = tenants.byId(tenantHeader.get()).orElseThrow(() -> missingCredentials("No such tenant."));
    } else {
      tenant = hostOf(request).flatMap(tenants::byHost)
          .orElseThrow(() -> missingCredentials("An API key is required: Authorization: Bearer <key>."));
    }
    RequestInfo.of(request).tenant(tenant.id());
    if (!tenant.allowsAnonymous(routeClass)) {
      throw missingCredentials("An API key is required: this tenant does not accept anonymous "
          + routeClass.wireName() + " requests.");
    }
    return Principal.anonymous(tenant, clientIp(request, peer, tenant));
  }

  private static ApiError missingCredentials(String message) {
    return ApiError.unauthorized("missing_credentials", message)
        .withHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"atrium\""));
  }

  /** The bearer credential, if the Authorization header is {@code Bearer <something>}. */
  private static Optional<String> bearer(HttpRequest request) {
    return request.getHeader("authorization").map(HttpHeader::value).map(String::trim)
        .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7)).map(v -> v.substring(7).trim());
  }

  /**
   * The presented key: {@code Authorization: Bearer <key>} (what OpenAI's SDKs send) or
   * {@code x-api-key}. A malformed Authorization header is refused rather than ignored.
   */
  private static Optional<String> credential(HttpRequest request) {
    Optional<String> authorization = request.getHeader("authorization").map(HttpHeader::value);
    if (authorization.isPresent()) {
      String value = authorization.get().trim();
      if (value.regionMatches(true, 0, "Bearer ", 0, 7) && value.substring(7).trim().length() > 0) {
        return Optional.of(value.substring(7).trim());
      }
      throw ApiError.unauthorized("invalid_authorization", "The Authorization header must be 'Bearer <key>'.")
          .withHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"atrium\", error=\"invalid_request\""));
    }
    return request.getHeader("x-api-key").map(HttpHeader::value).map(String::trim).filter(k -> !k.isEmpty());
  }

  private static Optional<String> hostOf(HttpRequest request) {
    String host = request.getUri().host().address();
    if (host == null || host.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(host.toLowerCase(Locale.ROOT));
  }

  private String clientIp(HttpRequest request, InetAddress peer, TenantConfig tenant) {
    List<String> configured = tenant.trustedProxies();
    Derived<List<String>, List<ClientAddress.Cidr>> held = proxiesByTenant.get(tenant.id());
    // Every request passes here: a plain read while the settings are the ones the networks were parsed from.
    List<ClientAddress.Cidr> proxies = held != null && held.source().equals(configured) ? held.value()
        : proxiesByTenant.compute(tenant.id(), (id, old) -> old != null && old.source().equals(configured) ? old
            : new Derived<>(configured, tenant.trustedProxyNetworks())).value();
    return ClientAddress.resolve(peer, request.getHeader("x-forwarded-for").map(HttpHeader::value), proxies);
  }

  private CorsSettings corsFor(TenantConfig tenant) {
    List<String> origins = tenant.cors().allowedOrigins();
    Derived<List<String>, CorsSettings> held = corsByTenant.get(tenant.id());
    if (held != null && held.source().equals(origins)) {
      return held.value();
    }
    return corsByTenant.compute(tenant.id(), (id, old) -> old != null && old.source().equals(origins) ? old
        : new Derived<>(origins, corsSettings(origins))).value();
  }

  private static CorsSettings corsSettings(List<String> origins) {
    HttpOrigin[] allowed = origins.stream().map(HttpOrigin::parse).toArray(HttpOrigin[]::new);
    return CorsSettings.defaultSettings()
        .withAllowedOrigins(HttpOriginMatcher.create(allowed))
        .withAllowedMethods(List.of(HttpMethods.GET, HttpMethods.POST, HttpMethods.PUT, HttpMethods.PATCH,
            HttpMethods.DELETE, HttpMethods.OPTIONS))
        .withAllowedHeaders(HttpHeaderRanges.ALL)
        .withExposedHeaders(EXPOSED_HEADERS)
        // Bearer keys, not cookies: browsers need not send credentials.
        .withAllowCredentials(false)
        .withMaxAge(OptionalLong.of(1800));
  }
}
