package dev.atrium.core.http;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.TestHttp;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared edge on a real HTTP server on a free port: request ids, tenant and principal
 * resolution, both error shapes, size limits, JSON errors, CORS, access logs and metrics.
 */
class EdgeTest {
  static final String ALPHA_KEY = "alpha-" + java.util.UUID.randomUUID();
  static final String BETA_KEY = "beta-" + java.util.UUID.randomUUID();

  @TempDir static Path tenantsDir;
  static ActorTestKit testKit;
  static ServerBinding binding;
  static TestHttp http;
  static Metrics metrics;
  static CapturedLogs logs;

  record Thing(String name, int count) {}

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(tenantsDir.resolve("alpha.json"), """
        {"id": "alpha", "display_name": "Alpha", "hosts": ["alpha.test"],
         "api_keys": [{"id": "k_alpha", "sha256": "%s", "tier": "PAID", "account": "acc-1"}],
         "anonymous_route_classes": ["search"],
         "cors": {"allowed_origins": ["https://app.alpha.test"]},
         "limits": {"max_request_bytes": 2048}}
        """.formatted(ApiKeys.sha256(ALPHA_KEY)));
    Files.writeString(tenantsDir.resolve("beta.json"), """
        {"id": "beta", "display_name": "Beta", "hosts": ["beta.test"],
         "api_keys": [{"id": "k_beta", "sha256": "%s", "tier": "FREE"}]}
        """.formatted(ApiKeys.sha256(BETA_KEY)));
    TenantDirectives tenants = new TenantDirectives(TenantRegistry.load(tenantsDir, false));
    logs = CapturedLogs.capture();
    testKit = ActorTestKit.create("edge-test", com.typesafe.config.ConfigFactory.parseString(
        "pekko.actor.provider = local\npekko.http.server.remote-address-attribute = on"));
    metrics = new Metrics();
    Route routes = concat(
        path(PathMatchers.segment("v1").slash("whoami"), () -> get(() ->
            tenants.principal(RouteClass.DEFAULT, EdgeTest::describe))),
        path(PathMatchers.segment("v1").slash("search"), () -> get(() ->
            tenants.principal(RouteClass.SEARCH, EdgeTest::describe))),
        path(PathMatchers.segment("v1").slash("things"), () -> post(() ->
            tenants.principal(RouteClass.DEFAULT, p -> JsonRoutes.body(Thing.class, thing ->
                JsonRoutes.json(Map.of("name", thing.name(), "count", thing.count())))))),
        path(PathMatchers.segment("v1").slash("chat").slash("completions"), () -> post(() ->
            tenants.principal(RouteClass.COMPLETIONS, p -> JsonRoutes.body(Map.class, body ->
                JsonRoutes.json(Map.of("fields", body.size())))))),
        path("boom", () -> get(() -> {
          throw new IllegalStateException("internal detail that must not leak");
        })));
    binding = Http.get(testKit.system()).newServerAt("127.0.0.1", 0)
        .bind(new Edge(metrics, "public").wrap(tenants.preflight(routes)))
        .toCompletableFuture().get();
    http = new TestHttp(binding.localAddress());
  }

  @AfterAll
  static void stop() {
    logs.close();
    testKit.shutdownTestKit();
  }

  static Route describe(Principal p) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("tenant", p.tenantId());
    body.put("tier", p.tier());
    body.put("anonymous", p.anonymous());
    body.put("key_id", p.keyId().orElse(null));
    body.put("account_id", p.accountId().orElse(null));
    return JsonRoutes.json(body);
  }

  static JsonNode json(HttpResponse<String> r) {
    return TestHttp.json(r);
  }

  static void assertProblem(HttpResponse<String> r, int status, String code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).contains("application/problem+json");
    JsonNode body = json(r);
    assertThat(body.path("status").asInt()).isEqualTo(status);
    assertThat(body.path("code").asText()).isEqualTo(code);
    assertThat(body.path("type").asText()).isEqualTo("urn:atrium:problem:" + code);
    assertThat(body.path("title").asText()).isNotBlank();
    assertThat(body.path("detail").asText()).isNotBlank();
    assertThat(body.path("request_id").asText()).isEqualTo(r.headers().firstValue("x-request-id").orElseThrow());
  }

  // ---- tenant and principal -------------------------------------------------------------

  @Test
  void anApiKeyResolvesItsTenantAndPrincipal() {
    var r = http.get("/v1/whoami", "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).path("tenant").asText()).isEqualTo("alpha");
    assertThat(json(r).path("key_id").asText()).isEqualTo("k_alpha");
    assertThat(json(r).path("tier").asText()).isEqualTo("PAID");
    assertThat(json(r).path("account_id").asText()).isEqualTo("acc-1");
  }

  @Test
  void theXApiKeyHeaderWorksToo() {
    var r = http.get("/v1/whoami", "x-api-key", BETA_KEY);
    assertThat(json(r).path("tenant").asText()).isEqualTo("beta");
    assertThat(json(r).path("tier").asText()).isEqualTo("FREE");
  }

  @Test
  void theTenantHeaderResolvesAnAnonymousCallerOnAnOpenRouteClass() {
    var r = http.get("/v1/search", "x-tenant-id", "alpha");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).path("tenant").asText()).isEqualTo("alpha");
    assertThat(json(r).path("anonymous").asBoolean()).isTrue();
    assertThat(json(r).path("tier").asText()).isEqualTo("FREE");
  }

  @Test
  void theHostNameResolvesTheTenantWithoutAHeader() {
    var r = http.get("/v1/search", "Host", "alpha.test");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).path("tenant").asText()).isEqualTo("alpha");
    assertThat(json(r).path("anonymous").asBoolean()).isTrue();
  }

  @Test
  void anonymousCallersAreRefusedOnClassesTheTenantKeepsClosed() {
    assertProblem(http.get("/v1/whoami", "x-tenant-id", "alpha"), 401, "missing_credentials");
    assertProblem(http.get("/v1/search", "x-tenant-id", "beta"), 401, "missing_credentials");
    assertProblem(http.get("/v1/search", "Host", "beta.test"), 401, "missing_credentials");
  }

  @Test
  void aKeyWithAnotherTenantsHeaderIsForbidden() {
    assertProblem(http.get("/v1/whoami", "Authorization", "Bearer " + ALPHA_KEY, "x-tenant-id", "beta"),
        403, "tenant_mismatch");
  }

  @Test
  void anUnknownKeyIsUnauthorized() {
    var r = http.get("/v1/whoami", "Authorization", "Bearer not-a-key");
    assertProblem(r, 401, "invalid_api_key");
    assertThat(r.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
  }

  @Test
  void aRequestWithoutAnyTenantIsRefused() {
    assertProblem(http.get("/v1/whoami"), 401, "missing_credentials");
    assertProblem(http.get("/v1/search"), 401, "missing_credentials");
  }

  @Test
  void badCredentialsAndTenantIdsAreRefused() {
    assertProblem(http.get("/v1/whoami", "Authorization", "Basic dXNlcjpwdw=="), 401, "invalid_authorization");
    assertProblem(http.get("/v1/search", "x-tenant-id", "no-such-tenant"), 401, "missing_credentials");
    assertProblem(http.get("/v1/search", "x-tenant-id", "Bad:Id"), 400, "invalid_tenant_id");
  }

  // ---- error shapes ---------------------------------------------------------------------

  @Test
  void openAiCompatibleRoutesAnswerErrorsInOpenAisShape() {
    var unauthorized = http.postJson("/v1/chat/completions", "{}", "Authorization", "Bearer wrong");
    assertThat(unauthorized.statusCode()).isEqualTo(401);
    assertThat(unauthorized.headers().firstValue("content-type")).contains("application/json");
    JsonNode error = json(unauthorized).path("error");
    assertThat(error.path("code").asText()).isEqualTo("invalid_api_key");
    assertThat(error.path("type").asText()).isEqualTo("authentication_error");
    assertThat(error.path("message").asText()).isNotBlank();
    assertThat(error.has("param")).isTrue();
    assertThat(unauthorized.headers().firstValue("x-request-id")).isPresent();

    var malformed = http.postJson("/v1/chat/completions", "{\"model\": ", "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(json(malformed).path("error").path("code").asText()).isEqualTo("malformed_json");
    assertThat(json(malformed).path("error").path("type").asText()).isEqualTo("invalid_request_error");

    var wrongMethod = http.get("/v1/chat/completions", "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(wrongMethod.statusCode()).isEqualTo(405);
    assertThat(json(wrongMethod).path("error").path("code").asText()).isEqualTo("method_not_allowed");

    var unknownModel = http.get("/v1/models/nope");
    assertThat(unknownModel.statusCode()).isEqualTo(404);
    assertThat(json(unknownModel).path("error").path("type").asText()).isEqualTo("not_found_error");
  }

  @Test
  void unknownRoutesAre404Problems() {
    assertProblem(http.get("/nowhere"), 404, "not_found");
  }

  @Test
  void wrongMethodsAre405ProblemsWithAllow() {
    var r = http.get("/v1/things", "Authorization", "Bearer " + ALPHA_KEY);
    assertProblem(r, 405, "method_not_allowed");
    assertThat(r.headers().firstValue("allow")).hasValueSatisfying(v -> assertThat(v).contains("POST"));
  }

  @Test
  void unexpectedFailuresAre500ProblemsWithoutInternals() {
    var r = http.get("/boom");
    assertProblem(r, 500, "internal_error");
    assertThat(r.body()).doesNotContain("internal detail").doesNotContain("IllegalStateException");
  }

  // ---- request ids ----------------------------------------------------------------------

  @Test
  void aValidRequestIdIsEchoed() {
    var r = http.get("/v1/whoami", "x-request-id", "client-id_42.ok", "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(r.headers().firstValue("x-request-id")).contains("client-id_42.ok");
    var error = http.get("/nowhere", "x-request-id", "trace-7");
    assertThat(json(error).path("request_id").asText()).isEqualTo("trace-7");
  }

  @Test
  void aRequestIdIsGeneratedWhenMissing() {
    var one = http.get("/v1/whoami", "Authorization", "Bearer " + ALPHA_KEY);
    var two = http.get("/v1/whoami", "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(one.headers().firstValue("x-request-id")).hasValueSatisfying(v -> assertThat(v).matches("req_[0-9a-f]{32}"));
    assertThat(one.headers().firstValue("x-request-id")).isNotEqualTo(two.headers().firstValue("x-request-id"));
  }

  @Test
  void aBadRequestIdIsRejected() {
    var spaced = http.get("/v1/whoami", "x-request-id", "has space", "Authorization", "Bearer " + ALPHA_KEY);
    assertProblem(spaced, 400, "invalid_request_id");
    assertThat(spaced.headers().firstValue("x-request-id")).hasValueSatisfying(v -> assertThat(v).startsWith("req_"));
    assertProblem(http.get("/v1/whoami", "x-request-id", "x".repeat(129)), 400, "invalid_request_id");
    assertThat(http.get("/v1/search", "x-request-id", "y".repeat(128), "x-tenant-id", "alpha").statusCode()).isEqualTo(200);
  }

  // ---- bodies ---------------------------------------------------------------------------

  @Test
  void aBodyOverTheTenantsLimitIs413() {
    String big = "{\"name\": \"" + "x".repeat(3000) + "\", \"count\": 1}";
    var declared = http.postJson("/v1/things", big, "Authorization", "Bearer " + ALPHA_KEY);
    assertProblem(declared, 413, "payload_too_large");
    assertThat(json(declared).path("limit_bytes").asLong()).isEqualTo(2048);

    var chunked = http.send(http.request("/v1/things")
        .header("Authorization", "Bearer " + ALPHA_KEY)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big.getBytes()))));
    assertProblem(chunked, 413, "payload_too_large");

    // The same body is within beta's default limit of 1 MiB.
    assertThat(http.postJson("/v1/things", big, "Authorization", "Bearer " + BETA_KEY).statusCode()).isEqualTo(200);
  }

  @Test
  void malformedJsonIs400WithItsPosition() {
    var r = http.postJson("/v1/things", "{\n  \"name\": \"a\",\n  \"count\": }", "Authorization", "Bearer " + ALPHA_KEY);
    assertProblem(r, 400, "malformed_json");
    assertThat(json(r).path("detail").asText()).contains("line 3, column");
  }

  @Test
  void aFieldOfTheWrongTypeIs400NamingTheField() {
    var r = http.postJson("/v1/things", "{\"name\": \"a\", \"count\": \"many\"}", "Authorization", "Bearer " + ALPHA_KEY);
    assertProblem(r, 400, "invalid_field");
    assertThat(json(r).path("detail").asText()).contains("'count'");
  }

  @Test
  void aBodyThatIsNotJsonIs415() {
    var r = http.send(http.request("/v1/things").header("Authorization", "Bearer " + ALPHA_KEY)
        .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("hello")));
    assertProblem(r, 415, "unsupported_media_type");
  }

  @Test
  void aWellFormedBodyReachesTheRoute() {
    var r = http.postJson("/v1/things", "{\"name\": \"lamp\", \"count\": 2, \"extra\": true}",
        "Authorization", "Bearer " + ALPHA_KEY);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).path("name").asText()).isEqualTo("lamp");
  }

  // ---- CORS -----------------------------------------------------------------------------

  HttpResponse<String> preflight(String origin, String... headers) {
    var r = http.request("/v1/things").method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", origin).header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization, content-type");
    if (headers.length > 0) {
      r.headers(headers);
    }
    return http.send(r);
  }

  @Test
  void aPreflightFromAnAllowedOriginIsAnswered() {
    var byHost = preflight("https://app.alpha.test", "Host", "alpha.test");
    assertThat(byHost.statusCode()).isEqualTo(200);
    assertThat(byHost.headers().firstValue("access-control-allow-origin")).contains("https://app.alpha.test");
    assertThat(byHost.headers().firstValue("access-control-allow-methods")).hasValueSatisfying(v -> assertThat(v).contains("POST"));
    // Without a host of the tenant, the origin alone finds it.
    var byOrigin = preflight("https://app.alpha.test");
    assertThat(byOrigin.statusCode()).isEqualTo(200);
    assertThat(byOrigin.headers().firstValue("access-control-allow-origin")).contains("https://app.alpha.test");
  }

  @Test
  void aPreflightFromAnotherOriginIsRefused() {
    assertProblem(preflight("https://evil.example"), 403, "cors_not_allowed");
    // An origin of tenant alpha asked on tenant beta's host is refused too.
    var crossTenant = preflight("https://app.alpha.test", "Host", "beta.test");
    assertThat(crossTenant.statusCode()).isEqualTo(403);
    assertThat(crossTenant.headers().firstValue("access-control-allow-origin")).isEmpty();
  }

  @Test
  void actualRequestsGetCorsHeadersOnlyForTheirTenantsOrigins() {
    var allowed = http.get("/v1/whoami", "Authorization", "Bearer " + ALPHA_KEY, "Origin", "https://app.alpha.test");
    assertThat(allowed.statusCode()).isEqualTo(200);
    assertThat(allowed.headers().firstValue("access-control-allow-origin")).contains("https://app.alpha.test");
    assertThat(allowed.headers().firstValue("access-control-expose-headers"))
        .hasValueSatisfying(v -> assertThat(v.toLowerCase()).contains("x-request-id"));
    var refused = http.get("/v1/whoami", "Authorization", "Bearer " + BETA_KEY, "Origin", "https://app.alpha.test");
    assertThat(refused.statusCode()).isEqualTo(403);
  }

  // ---- logs and metrics -----------------------------------------------------------------

  @Test
  void eachRequestIsLoggedAndCountedWithoutItsKey() {
    var r = http.get("/v1/whoami", "Authorization", "Bearer " + ALPHA_KEY, "x-request-id", "log-check-1");
    assertThat(r.statusCode()).isEqualTo(200);
    http.get("/v1/whoami", "Authorization", "Bearer " + BETA_KEY + "-wrong");

    var line = logs.linesContaining("\"request_id\":\"log-check-1\"");
    assertThat(line).hasSize(1);
    assertThat(line.get(0)).contains("\"tenant\":\"alpha\"", "\"key_id\":\"k_alpha\"", "\"principal\":\"key\"", "\"route_class\":\"default\"",
        "\"status\":200", "\"latency_ms\"");
    assertThat(logs.linesContaining(ALPHA_KEY)).isEmpty();
    assertThat(logs.linesContaining(BETA_KEY)).isEmpty();

    String scrape = metrics.scrape();
    assertThat(scrape).containsPattern(
        "atrium_http_requests_total\\{port=\"public\",route_class=\"default\",status=\"200\",tenant=\"alpha\"} [1-9]");
    assertThat(scrape).contains("atrium_http_request_duration_seconds_bucket{");
    assertThat(scrape).contains("jvm_memory_used_bytes");
  }
}
