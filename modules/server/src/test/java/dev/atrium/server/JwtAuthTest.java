package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.MutableClock;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import dev.atrium.testkit.TestIssuer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JWT users at the edge of a real node: tokens of three issuers (one by a JWKS URL, one by a
 * JWKS file, one shared by two tenants with a tenant claim) and an HS256 secret, the
 * attacks each refused 401 with its reason, JWKS rotation, accounts and rate-limit keys.
 */
class JwtAuthTest {
  static final String SECRET_ENV = "ATRIUM_TEST_JWT_SECRET";
  static final byte[] SECRET = "an-hs256-secret-of-at-least-32-bytes!".getBytes(StandardCharsets.UTF_8);
  static final String BETA_KEY = "beta-key-secret";

  @TempDir static Path tenantsDir;
  static MutableClock clock;
  static TestIssuer alphaIssuer;
  static TestIssuer betaIssuer;
  static TestIssuer sharedIssuer;
  static TestIssuer stranger;
  static TestIssuer down;
  static MockLlm mock;
  static CapturedLogs logs;
  static TestNode node;
  static TestHttp http;

  static String models(String mockUrl) {
    return """
        "models": {"default_model": "mock", "models": {"mock": {"provider": "up"}},
                   "providers": {"up": {"type": "openai", "base_url": "%s", "max_retries": 0}}}""".formatted(mockUrl);
  }

  static final String WIDE_LIMITS = """
      "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000},
                                  "free": {"capacity": 100000, "refill_per_second": 100000}}}""";

  @BeforeAll
  static void start() throws Exception {
    clock = new MutableClock(Instant.now());
    alphaIssuer = TestIssuer.start(clock);
    betaIssuer = TestIssuer.start(clock);
    sharedIssuer = TestIssuer.start(clock);
    stranger = TestIssuer.start(clock);
    down = TestIssuer.start(clock);
    down.failing(true);
    mock = MockLlm.startLocal();
    logs = CapturedLogs.capture();
    Files.writeString(tenantsDir.resolve("alpha.json"), """
        {"id": "alpha", "display_name": "Alpha", "api_keys": [],
         "auth": {"jwt": {"issuer": "%s", "jwks_url": "%s", "audience": "atrium",
                          "jwks_min_refresh_seconds": 30, "jwks_cache_seconds": 86400}},
         %s, %s}
        """.formatted(alphaIssuer.issuer(), alphaIssuer.jwksUrl(), models(mock.baseUrl()), WIDE_LIMITS));
    Files.writeString(tenantsDir.resolve("beta-keys.jwks"), betaIssuer.publishedJwks());
    Files.writeString(tenantsDir.resolve("beta.json"), """
        {"id": "beta", "display_name": "Beta", "hosts": ["beta.example"],
         "api_keys": [{"id": "k_beta", "sha256": "%s", "tier": "PAID"}],
         "auth": {"jwt": {"issuer": "%s", "jwks_file": "beta-keys.jwks", "algorithms": ["EdDSA"],
                          "default_tier": "FREE", "claims": {"user": "uid"}}},
         "rate_limits": {"default": {"free": {"capacity": 3, "refill_per_second": 0.01},
                                     "paid": {"capacity": 100000, "refill_per_second": 100000}}},
         %s}
        """.formatted(ApiKeys.sha256(BETA_KEY), betaIssuer.issuer(), models(mock.baseUrl())));
    Files.writeString(tenantsDir.resolve("gamma.json"), """
        {"id": "gamma", "display_name": "Gamma", "api_keys": [],
         "auth": {"jwt": {"issuer": "https://gamma.example/auth", "hmac_secret_env": "%s"}}, %s, %s}
        """.formatted(SECRET_ENV, models(mock.baseUrl()), WIDE_LIMITS));
    for (String id : List.of("shared1", "shared2")) {
      Files.writeString(tenantsDir.resolve(id + ".json"), """
          {"id": "%s", "display_name": "%s", "api_keys": [],
           "auth": {"jwt": {"issuer": "%s", "jwks_url": "%s", "tenant_claim": "org"}}, %s}
          """.formatted(id, id, sharedIssuer.issuer(), sharedIssuer.jwksUrl(), WIDE_LIMITS));
    }
    Files.writeString(tenantsDir.resolve("delta.json"), """
        {"id": "delta", "display_name": "Delta", "api_keys": [],
         "auth": {"jwt": {"issuer": "%s", "jwks_url": "%s", "jwks_min_refresh_seconds": 30}}, %s}
        """.formatted(down.issuer(), down.jwksUrl(), WIDE_LIMITS));
    Map<String, String> env = Map.of(SECRET_ENV, new String(SECRET, StandardCharsets.UTF_8));
    node = TestNode.start("jwt", TestDatabase.fresh("jwt_auth"), TenantRegistry.load(tenantsDir, false, env::get),
        Map.of(), clock);
    http = node.publicHttp();
    Eventually.await(Duration.ofSeconds(10), () -> {
      assertThat(alphaIssuer.jwksFetches()).isEqualTo(1);
      assertThat(sharedIssuer.jwksFetches()).isEqualTo(1);
      assertThat(down.jwksFetches()).isEqualTo(1);
    });
  }

  @AfterAll
  static void stop() {
    node.close();
    logs.close();
    mock.close();
    for (TestIssuer issuer : List.of(alphaIssuer, betaIssuer, sharedIssuer, stranger, down)) {
      issuer.close();
    }
  }

  static JWTClaimsSet.Builder alphaClaims(String sub) {
    return alphaIssuer.claims(sub).audience("atrium").claim("tier", "PAID");
  }

  static HttpResponse<String> whoAmI(String token, String... headers) {
    String[] all = new String[headers.length + 2];
    all[0] = "Authorization";
    all[1] = "Bearer " + token;
    System.arraycopy(headers, 0, all, 2, headers.length);
    return http.get("/v1/tenant", all);
  }

  /** 401, the reason code, RFC 6750's header, and neither the token nor a claim value echoed. */
  static void refused(String token, String code, String... headers) {
    HttpResponse<String> response = whoAmI(token, headers);
    assertThat(response.statusCode()).as(code + ": " + response.body()).isEqualTo(401);
    assertThat(TestHttp.json(response).path("code").asText()).isEqualTo(code);
    assertThat(response.headers().firstValue("www-authenticate").orElse(""))
        .startsWith("Bearer").contains("error=\"invalid_token\"");
    assertThat(response.body()).doesNotContain(token).doesNotContain(token.split("\\.")[1])
        .doesNotContain("user-secret-sub");
  }

  @Test
  void logsNeverHoldATokenOrItsSubject() {
    String subject = "someone-" + java.util.UUID.randomUUID() + "@example.com";
    String valid = alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims(subject).build());
    String tampered = TestIssuer.tampered(valid, alphaClaims(subject).claim("tier", "FREE").build());
    assertThat(whoAmI(valid, "x-request-id", "jwt-log-ok").statusCode()).isEqualTo(200);
    assertThat(whoAmI(tampered, "x-request-id", "jwt-log-refused").statusCode()).isEqualTo(401);
    // Both requests were logged (the capture works), as a user and as a refusal...
    Eventually.await(Duration.ofSeconds(5), () -> {
      assertThat(logs.linesContaining("jwt-log-ok")).singleElement().asString().contains("\"principal\":\"user\"");
      assertThat(logs.linesContaining("jwt-log-refused")).singleElement().asString().contains("\"status\":401");
    });
    // ...and no line holds a token, its signature or its subject.
    assertThat(logs.linesContaining(valid.substring(valid.lastIndexOf('.') + 1))).isEmpty();
    assertThat(logs.linesContaining(tampered.split("\\.")[1])).isEmpty();
    assertThat(logs.linesContaining(subject)).isEmpty();
  }

  @Test
  void rs256Es256AndEdDsaTokensOfAJwksUrlReachARoute() {
    for (JWSAlgorithm alg : List.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256, JWSAlgorithm.EdDSA)) {
      HttpResponse<String> response = whoAmI(alphaIssuer.sign(alg, alphaClaims("u-" + alg).claim("account_id", "acc-a")
          .build()));
      assertThat(response.statusCode()).as(alg + ": " + response.body()).isEqualTo(200);
      JsonNode body = TestHttp.json(response);
      assertThat(body.path("tenant_id").asText()).isEqualTo("alpha");
      assertThat(body.path("anonymous").asBoolean()).isFalse();
      assertThat(body.path("tier").asText()).isEqualTo("PAID");
      assertThat(body.path("account_id").asText()).isEqualTo("acc-a");
      assertThat(body.has("key_id")).isFalse();
      assertThat(body.path("principal").path("kind").asText()).isEqualTo("user");
      assertThat(body.path("principal").path("user_id").asText()).isEqualTo("u-" + alg);
    }
    HttpResponse<String> verify = http.get("/v1/auth/verify", "Authorization", "Bearer "
        + alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("u-verify").build()));
    assertThat(verify.statusCode()).as(verify.body()).isEqualTo(200);
    assertThat(TestHttp.json(verify).path("kind").asText()).isEqualTo("user");
    assertThat(TestHttp.json(verify).path("user_id").asText()).isEqualTo("u-verify");
    assertThat(TestHttp.json(verify).path("tenant_id").asText()).isEqualTo("alpha");
  }

  @Test
  void aPaidUsersSessionIsTheirsOnEveryDeviceAndNobodyElses() {
    String laptop = alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("u-owner").jwtID("laptop").build());
    String phone = alphaIssuer.sign(JWSAlgorithm.RS256, alphaClaims("u-owner").jwtID("phone").build());
    String someoneElse = alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("u-other").build());
    HttpResponse<String> created = http.postJson("/v1/chat/sessions", "{\"title\": \"mine\"}",
        "Authorization", "Bearer " + laptop);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String path = "/v1/chat/sessions/" + TestHttp.json(created).path("id").asText();
    assertThat(http.get(path, "Authorization", "Bearer " + phone).statusCode()).isEqualTo(200);
    assertThat(http.get(path, "Authorization", "Bearer " + someoneElse).statusCode()).isEqualTo(404);
  }

  @Test
  void aUsersTokenRunsAChatCompletion() {
    for (JWSAlgorithm alg : List.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256, JWSAlgorithm.EdDSA)) {
      String token = alphaIssuer.sign(alg, alphaClaims("u-chat").build());
      HttpResponse<String> response = CompletionCalls.completion(http, token, false, CompletionCalls.unique());
      assertThat(response.statusCode()).as(alg + ": " + response.body()).isEqualTo(200);
      assertThat(CompletionCalls.text(response)).isNotEmpty();
    }
    // the OpenAI door answers a refused token in OpenAI's error shape
    HttpResponse<String> refused = CompletionCalls.completion(http,
        TestIssuer.unsigned(alphaClaims("user-secret-sub").build()), false, CompletionCalls.unique());
    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(TestHttp.json(refused).path("error").path("code").asText()).isEqualTo("token_unsigned");
  }

  @Test
  void anHs256TokenOfASecretTenant() {
    JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer("https://gamma.example/auth").subject("g-user")
        .claim("tier", "FREE").expirationTime(Date.from(clock.instant().plusSeconds(300))).build();
    HttpResponse<String> response = whoAmI(TestIssuer.signHs256(SECRET, claims));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(TestHttp.json(response).path("tenant_id").asText()).isEqualTo("gamma");
    assertThat(TestHttp.json(response).path("tier").asText()).isEqualTo("FREE");
    assertThat(CompletionCalls.completion(http, TestIssuer.signHs256(SECRET, claims), false, CompletionCalls.unique())
        .statusCode()).isEqualTo(200);
    byte[] otherSecret = "another-secret-that-is-32-bytes-long!!".getBytes(StandardCharsets.UTF_8);
    refused(TestIssuer.signHs256(otherSecret, claims), "token_signature_invalid");
  }

  @Test
  void aJwksFileTenantTakesOnlyItsAlgorithms() {
    JWTClaimsSet claims = betaIssuer.claims("ignored").claim("uid", "b-file-user").claim("tier", "PAID").build();
    HttpResponse<String> ok = whoAmI(betaIssuer.sign(JWSAlgorithm.EdDSA, claims));
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    assertThat(TestHttp.json(ok).path("tenant_id").asText()).isEqualTo("beta");
    refused(betaIssuer.sign(JWSAlgorithm.RS256, claims), "token_algorithm_not_allowed");
    refused(betaIssuer.sign(JWSAlgorithm.ES256, claims), "token_algorithm_not_allowed");
    // the tenant's API keys keep working beside its tokens
    assertThat(http.get("/v1/tenant", "Authorization", "Bearer " + BETA_KEY).statusCode()).isEqualTo(200);
    assertThat(http.get("/v1/tenant", "x-api-key", BETA_KEY).statusCode()).isEqualTo(200);
    // x-api-key is a key whatever it looks like
    HttpResponse<String> tokenAsKey = http.get("/v1/tenant", "x-api-key", betaIssuer.sign(JWSAlgorithm.EdDSA, claims));
    assertThat(tokenAsKey.statusCode()).isEqualTo(401);
    assertThat(TestHttp.json(tokenAsKey).path("code").asText()).isEqualTo("invalid_api_key");
  }

  @Test
  void aMissingTierIsTheTenantsDefaultTierOrARefusal() {
    JWTClaimsSet noTier = betaIssuer.claims("x").claim("uid", "b-default").build();
    HttpResponse<String> response = whoAmI(betaIssuer.sign(JWSAlgorithm.EdDSA, noTier));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(TestHttp.json(response).path("tier").asText()).isEqualTo("FREE");
    refused(alphaIssuer.sign(JWSAlgorithm.RS256, alphaIssuer.claims("user-secret-sub").audience("atrium").build()),
        "token_claim_missing");
    refused(alphaIssuer.sign(JWSAlgorithm.RS256, alphaClaims("user-secret-sub").claim("tier", "GOLD").build()),
        "token_claim_invalid");
  }

  @Test
  void unsignedAndKeyConfusedTokensAreRefused() {
    JWTClaimsSet claims = alphaClaims("user-secret-sub").build();
    refused(TestIssuer.unsigned(claims), "token_unsigned");
    refused(TestIssuer.raw(Map.of("alg", "none", "typ", "JWT"), claims.toString(), "c2lnbmF0dXJl"), "token_unsigned");
    refused(alphaIssuer.hs256WithRsaPublicKey(claims), "token_algorithm_not_allowed");
  }

  @Test
  void aBadSignatureATamperedPayloadAndAnUnknownKidAreRefused() {
    String good = alphaIssuer.sign(JWSAlgorithm.RS256, alphaClaims("u-good").build());
    refused(TestIssuer.tampered(good, alphaClaims("user-secret-sub").build()), "token_signature_invalid");
    // another issuer's key under alpha's kid and issuer
    refused(stranger.sign(JWSAlgorithm.RS256, alphaIssuer.kid(JWSAlgorithm.RS256), alphaClaims("user-secret-sub").build()),
        "token_signature_invalid");
    refused(alphaIssuer.sign(JWSAlgorithm.ES256, "no-such-kid", alphaClaims("user-secret-sub").build()),
        "token_key_unknown");
  }

  @Test
  void expiryAndNotBeforeHoldSixtySecondsOfSkew() {
    Instant now = clock.instant();
    refused(alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("user-secret-sub")
        .expirationTime(Date.from(now.minusSeconds(61))).build()), "token_expired");
    assertThat(whoAmI(alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("u-skew")
        .expirationTime(Date.from(now.minusSeconds(30))).build())).statusCode()).isEqualTo(200);
    refused(alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("user-secret-sub")
        .notBeforeTime(Date.from(now.plusSeconds(120))).build()), "token_not_yet_valid");
    assertThat(whoAmI(alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("u-skew")
        .notBeforeTime(Date.from(now.plusSeconds(30))).build())).statusCode()).isEqualTo(200);
    refused(alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("user-secret-sub").expirationTime(null).build()),
        "token_claim_missing");
  }

  @Test
  void wrongIssuerAudienceSubjectOrShapeAreRefused() {
    refused(alphaIssuer.sign(JWSAlgorithm.RS256, alphaClaims("user-secret-sub").issuer("https://evil.example").build()),
        "token_issuer_unknown");
    refused(alphaIssuer.sign(JWSAlgorithm.RS256, alphaClaims("user-secret-sub").audience("other-app").build()),
        "token_audience_invalid");
    refused(alphaIssuer.sign(JWSAlgorithm.RS256, alphaClaims("user-secret-sub").audience((String) null).build()),
        "token_audience_invalid");
    refused(alphaIssuer.sign(JWSAlgorithm.RS256, alphaClaims(null).build()), "token_claim_missing");
    refused(TestIssuer.raw(Map.of("alg", "RS256", "kid", alphaIssuer.kid(JWSAlgorithm.RS256)), "not json at all",
        "c2lnbmF0dXJl"), "token_malformed");
  }

  @Test
  void aTokenOfAnotherTenantThanXTenantIdIsRefused() {
    String token = alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("user-secret-sub").build());
    refused(token, "token_tenant_mismatch", "x-tenant-id", "beta");
    assertThat(whoAmI(token, "x-tenant-id", "alpha").statusCode()).isEqualTo(200);
  }

  @Test
  void aTokenOfAnotherTenantThanTheHostsIsRefused() throws Exception {
    String token = alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("user-secret-sub").build());
    // java.net.http will not send another Host: a raw request does
    try (java.net.Socket socket = new java.net.Socket(node.running.publicAddress().getAddress(),
        node.running.publicAddress().getPort())) {
      socket.getOutputStream().write(("GET /v1/tenant HTTP/1.1\r\nHost: beta.example\r\nAuthorization: Bearer " + token
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(answer).startsWith("HTTP/1.1 401").contains("\"token_tenant_mismatch\"").doesNotContain(token);
    }
  }

  @Test
  void keysThatCannotBeFetchedAnswer503UntilTheIssuerIsBack() {
    JWTClaimsSet claims = down.claims("u-down").claim("tier", "PAID").build();
    HttpResponse<String> unavailable = whoAmI(down.sign(JWSAlgorithm.RS256, claims));
    assertThat(unavailable.statusCode()).as(unavailable.body()).isEqualTo(503);
    assertThat(TestHttp.json(unavailable).path("code").asText()).isEqualTo("jwks_unavailable");
    assertThat(unavailable.headers().firstValue("retry-after")).isPresent();
    // within the minimum interval a failed issuer is not asked again
    int fetches = down.jwksFetches();
    assertThat(whoAmI(down.sign(JWSAlgorithm.RS256, claims)).statusCode()).isEqualTo(503);
    assertThat(down.jwksFetches()).isEqualTo(fetches);
    down.failing(false);
    clock.advance(Duration.ofSeconds(31));
    HttpResponse<String> back = whoAmI(down.sign(JWSAlgorithm.RS256, claims));
    assertThat(back.statusCode()).as(back.body()).isEqualTo(200);
    assertThat(TestHttp.json(back).path("tenant_id").asText()).isEqualTo("delta");
    assertThat(down.jwksFetches()).isEqualTo(fetches + 1);
  }

  @Test
  void aNewKidRefetchesTheJwksOnceAndAFloodOfUnknownKidsDoesNot() {
    clock.advance(Duration.ofSeconds(31));
    int before = alphaIssuer.jwksFetches();
    String kid = alphaIssuer.addKey(JWSAlgorithm.EdDSA);
    HttpResponse<String> rotated = whoAmI(alphaIssuer.sign(JWSAlgorithm.EdDSA, alphaClaims("u-rotated").build()));
    assertThat(rotated.statusCode()).as(rotated.body()).isEqualTo(200);
    assertThat(alphaIssuer.kid(JWSAlgorithm.EdDSA)).isEqualTo(kid);
    assertThat(alphaIssuer.jwksFetches()).isEqualTo(before + 1);
    for (int i = 0; i < 25; i++) {
      refused(alphaIssuer.sign(JWSAlgorithm.EdDSA, "bogus-" + i, alphaClaims("user-secret-sub").build()),
          "token_key_unknown");
    }
    assertThat(alphaIssuer.jwksFetches()).isEqualTo(before + 1);
    // once the minimum interval has passed, an unknown kid may fetch again: one fetch
    clock.advance(Duration.ofSeconds(31));
    refused(alphaIssuer.sign(JWSAlgorithm.EdDSA, "bogus-late", alphaClaims("user-secret-sub").build()),
        "token_key_unknown");
    assertThat(alphaIssuer.jwksFetches()).isEqualTo(before + 2);
  }

  @Test
  void xAccountIdPicksOneOfTheTokensAccounts() {
    String several = alphaIssuer.sign(JWSAlgorithm.ES256, alphaClaims("u-acc").claim("accounts", List.of("acc1", "acc2"))
        .build());
    HttpResponse<String> picked = whoAmI(several, "x-account-id", "acc2");
    assertThat(picked.statusCode()).as(picked.body()).isEqualTo(200);
    assertThat(TestHttp.json(picked).path("account_id").asText()).isEqualTo("acc2");
    HttpResponse<String> notInList = whoAmI(several, "x-account-id", "acc9");
    assertThat(notInList.statusCode()).isEqualTo(403);
    assertThat(TestHttp.json(notInList).path("code").asText()).isEqualTo("account_not_allowed");
    HttpResponse<String> none = whoAmI(several);
    assertThat(none.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(none).path("code").asText()).isEqualTo("account_selection_required");

    String one = alphaIssuer.sign(JWSAlgorithm.ES256, alphaClaims("u-acc").claim("accounts", List.of("acc1")).build());
    assertThat(TestHttp.json(whoAmI(one)).path("account_id").asText()).isEqualTo("acc1");

    String single = alphaIssuer.sign(JWSAlgorithm.ES256, alphaClaims("u-acc").claim("account_id", "acc1").build());
    assertThat(TestHttp.json(whoAmI(single, "x-account-id", "acc1")).path("account_id").asText()).isEqualTo("acc1");
    HttpResponse<String> other = whoAmI(single, "x-account-id", "acc2");
    assertThat(other.statusCode()).isEqualTo(403);
    assertThat(TestHttp.json(other).path("code").asText()).isEqualTo("account_not_allowed");

    String without = alphaIssuer.sign(JWSAlgorithm.ES256, alphaClaims("u-acc").build());
    assertThat(TestHttp.json(whoAmI(without)).has("account_id")).isFalse();
    assertThat(whoAmI(without, "x-account-id", "acc1").statusCode()).isEqualTo(403);
  }

  @Test
  void aSharedIssuerNamesItsTenantInAClaim() {
    for (String tenant : List.of("shared1", "shared2")) {
      HttpResponse<String> response = whoAmI(sharedIssuer.sign(JWSAlgorithm.RS256,
          sharedIssuer.claims("u-shared").claim("org", tenant).claim("tier", "PAID").build()));
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      assertThat(TestHttp.json(response).path("tenant_id").asText()).isEqualTo(tenant);
    }
    refused(sharedIssuer.sign(JWSAlgorithm.RS256, sharedIssuer.claims("user-secret-sub").claim("org", "alpha")
        .claim("tier", "PAID").build()), "token_tenant_unknown");
    refused(sharedIssuer.sign(JWSAlgorithm.RS256, sharedIssuer.claims("user-secret-sub").claim("tier", "PAID").build()),
        "token_claim_missing");
    refused(sharedIssuer.sign(JWSAlgorithm.RS256, sharedIssuer.claims("user-secret-sub").claim("org", "shared1")
        .claim("tier", "PAID").build()), "token_tenant_mismatch", "x-tenant-id", "shared2");
  }

  @Test
  void twoTokensOfOneUserShareARateLimitBucket() {
    // beta: FREE users get 3 requests of the default class; the key is user:<uid>, not the token
    for (int i = 0; i < 3; i++) {
      String token = betaIssuer.sign(JWSAlgorithm.EdDSA, betaIssuer.claims("s").claim("uid", "b-limited")
          .jwtID("t" + i).build());
      assertThat(whoAmI(token).statusCode()).isEqualTo(200);
    }
    String fourth = betaIssuer.sign(JWSAlgorithm.EdDSA, betaIssuer.claims("s").claim("uid", "b-limited")
        .jwtID("t-other-device").build());
    assertThat(whoAmI(fourth).statusCode()).isEqualTo(429);
    String otherUser = betaIssuer.sign(JWSAlgorithm.EdDSA, betaIssuer.claims("s").claim("uid", "b-other").build());
    assertThat(whoAmI(otherUser).statusCode()).isEqualTo(200);
  }
}
