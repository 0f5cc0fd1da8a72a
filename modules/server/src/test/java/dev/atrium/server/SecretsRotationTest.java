package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.FakeSecretsManager;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Provider keys from a mounted file and from AWS Secrets Manager (the testkit's fake), on a
 * real node with a short TTL: the upstream receives the key each holds, a rotated key
 * reaches it within the TTL without a restart, and no log line holds a key.
 */
class SecretsRotationTest {
  static final String KEY = "vault-key-" + UUID.randomUUID();
  static final String FILE_ONE = "sk-file-one-" + UUID.randomUUID();
  static final String FILE_TWO = "sk-file-two-" + UUID.randomUUID();
  static final String SM_ONE = "sk-sm-one-" + UUID.randomUUID();
  static final String SM_TWO = "sk-sm-two-" + UUID.randomUUID();
  static final String EMBED_ONE = "sk-embed-one-" + UUID.randomUUID();
  static final String EMBED_TWO = "sk-embed-two-" + UUID.randomUUID();
  /** HS256 secrets: 32 bytes and more. */
  static final String JWT_FILE_ONE = "jwt-file-one-" + UUID.randomUUID();
  static final String JWT_FILE_TWO = "jwt-file-two-" + UUID.randomUUID();
  static final String JWT_SM_ONE = "jwt-sm-one-" + UUID.randomUUID();
  static final String JWT_SM_TWO = "jwt-sm-two-" + UUID.randomUUID();
  static final List<String> ALL = List.of(FILE_ONE, FILE_TWO, SM_ONE, SM_TWO, EMBED_ONE, EMBED_TWO,
      JWT_FILE_ONE, JWT_FILE_TWO, JWT_SM_ONE, JWT_SM_TWO);

  @TempDir static Path tenantsDir;
  @TempDir static Path secretsDir;
  static Path keyFile;
  static Path jwtFile;
  static MockLlm mock;
  static FakeSecretsManager secrets;
  static TestNode node;
  static TestHttp http;
  static CapturedLogs logs;

  @BeforeAll
  static void start() throws IOException {
    logs = CapturedLogs.capture();
    mock = MockLlm.startLocal();
    secrets = FakeSecretsManager.start();
    secrets.put("prod/llm", "{\"api_key\": \"" + SM_ONE + "\", \"note\": \"json\"}");
    keyFile = secretsDir.resolve("api-key");
    Files.writeString(keyFile, FILE_ONE + "\n");
    secrets.put("prod/embed", EMBED_ONE);
    secrets.put("prod/jwt", "{\"hs256\": \"" + JWT_SM_ONE + "\"}");
    jwtFile = secretsDir.resolve("jwt-secret");
    Files.writeString(jwtFile, JWT_FILE_ONE + "\n");
    Files.writeString(tenantsDir.resolve("vault.json"), """
        {"id": "vault", "display_name": "Vault",
         "api_keys": [{"id": "k_vault", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "filed",
                    "models": {"filed": {"provider": "fromfile", "upstream_model": "mock"},
                               "managed": {"provider": "fromsm", "upstream_model": "mock"}},
                    "providers": {"fromfile": {"type": "openai", "base_url": "%s", "timeout_ms": 5000,
                                               "max_retries": 0, "api_key_file": "%s"},
                                  "fromsm": {"type": "openai", "base_url": "%s", "timeout_ms": 5000,
                                             "max_retries": 0,
                                             "api_key_secret": {"name": "prod/llm", "field": "api_key"}},
                                  "embedsm": {"type": "openai", "base_url": "%s", "timeout_ms": 5000,
                                              "max_retries": 0, "api_key_secret": {"name": "prod/embed"}}}},
         "documents": {"embedder": "embedsm", "embedding_model": "mock-embed"},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY), mock.baseUrl(), keyFile, mock.baseUrl(), mock.baseUrl()));
    // Two issuers with HS256 secrets: one in a mounted file, one in Secrets Manager (a JSON field).
    Files.writeString(tenantsDir.resolve("jwtfile.json"), """
        {"id": "jwtfile", "display_name": "JWT from a file", "api_keys": [],
         "auth": {"jwt": {"issuer": "https://file.issuer.test", "hmac_secret_file": "%s", "default_tier": "PAID"}}}
        """.formatted(jwtFile));
    Files.writeString(tenantsDir.resolve("jwtsm.json"), """
        {"id": "jwtsm", "display_name": "JWT from Secrets Manager", "api_keys": [],
         "auth": {"jwt": {"issuer": "https://sm.issuer.test", "hmac_secret_aws": {"name": "prod/jwt", "field": "hs256"},
                          "default_tier": "PAID"}}}
        """);
    // The SDK's default chain reads these; the fake checks no signature.
    System.setProperty("aws.accessKeyId", "AKIAFAKEFAKEFAKEFAKE");
    System.setProperty("aws.secretAccessKey", "fake-secret-access-key");
    node = TestNode.start("secrets", TestDatabase.fresh("secrets_rotation"), TenantRegistry.load(tenantsDir, false),
        Map.of("atrium.secrets.ttl", "300ms",
            "atrium.secrets.aws.endpoint", secrets.endpoint().toString(),
            "atrium.secrets.aws.region", "us-east-1"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    try {
      List<String> leaked = logs.lines().stream()
          .filter(l -> ALL.stream().anyMatch(l::contains)).toList();
      assertThat(leaked).as("log lines holding a provider key or JWT secret").isEmpty();
    } finally {
      logs.close();
      node.close();
      mock.close();
      secrets.close();
      System.clearProperty("aws.accessKeyId");
      System.clearProperty("aws.secretAccessKey");
    }
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  static HttpResponse<String> complete(String model) {
    return http.postJson("/v1/chat/completions", """
        {"model": "%s", "messages": [{"role": "user", "content": "hello"}]}""".formatted(model),
        "Authorization", "Bearer " + KEY);
  }

  static String lastAuthorization() {
    List<String> seen = mock.authorizations();
    assertThat(seen).isNotEmpty();
    return seen.get(seen.size() - 1);
  }

  @Test
  void aKeyFromAFileReachesTheUpstreamAndItsRotationWithinTheTtl() throws IOException {
    var first = complete("filed");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(lastAuthorization()).isEqualTo("Bearer " + FILE_ONE);

    Files.writeString(keyFile, FILE_TWO + "\n");
    Eventually.await(Duration.ofSeconds(10), () -> {
      var r = complete("filed");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(lastAuthorization()).isEqualTo("Bearer " + FILE_TWO);
    });
    assertThat(mock.authorizations()).allMatch(a -> a.equals("Bearer " + FILE_ONE) || a.equals("Bearer " + FILE_TWO));
    assertThat(logs.linesContaining("The secret file:" + keyFile + " changed")).as("the rotation is logged by place")
        .isNotEmpty().noneMatch(l -> l.contains(FILE_ONE) || l.contains(FILE_TWO));
  }

  @Test
  void aKeyFromSecretsManagerReachesTheUpstreamAndItsRotationWithinTheTtl() {
    var first = complete("managed");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(lastAuthorization()).isEqualTo("Bearer " + SM_ONE);
    int lookups = secrets.lookups();
    assertThat(lookups).isPositive();

    secrets.put("prod/llm", "{\"api_key\": \"" + SM_TWO + "\"}");
    Eventually.await(Duration.ofSeconds(10), () -> {
      var r = complete("managed");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(lastAuthorization()).isEqualTo("Bearer " + SM_TWO);
    });
    assertThat(secrets.lookups()).isGreaterThan(lookups);
    assertThat(mock.authorizations()).allMatch(a -> a.equals("Bearer " + SM_ONE) || a.equals("Bearer " + SM_TWO));
    assertThat(logs.linesContaining("The secret aws_secret:prod/llm#api_key changed")).as("the rotation is logged by place")
        .isNotEmpty().noneMatch(l -> l.contains(SM_ONE) || l.contains(SM_TWO));
  }

  static HttpResponse<String> verify(String issuer, String secret) {
    var claims = new com.nimbusds.jwt.JWTClaimsSet.Builder().issuer(issuer).subject("u_rotating")
        .expirationTime(java.util.Date.from(java.time.Instant.now().plusSeconds(600))).build();
    String token = dev.atrium.testkit.TestIssuer.signHs256(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8), claims);
    return http.get("/v1/auth/verify", "Authorization", "Bearer " + token);
  }

  @Test
  void aJwtSecretFromAFileRotatesWithinTheTtl() throws IOException {
    var first = verify("https://file.issuer.test", JWT_FILE_ONE);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(TestHttp.json(first).toString()).contains("u_rotating").contains("jwtfile");
    assertThat(verify("https://file.issuer.test", JWT_FILE_TWO).statusCode()).isEqualTo(401);

    Files.writeString(jwtFile, JWT_FILE_TWO + "\n");
    Eventually.await(Duration.ofSeconds(10), () ->
        assertThat(verify("https://file.issuer.test", JWT_FILE_TWO).statusCode()).isEqualTo(200));
    var old = verify("https://file.issuer.test", JWT_FILE_ONE);
    assertThat(old.statusCode()).isEqualTo(401);
    assertThat(TestHttp.json(old).path("code").asText()).isEqualTo("token_signature_invalid");

    // A rotation to something unusable (too short) is not applied: the last good secret stays.
    Files.writeString(jwtFile, "short");
    Eventually.await(Duration.ofSeconds(10), () -> {
      assertThat(verify("https://file.issuer.test", JWT_FILE_TWO).statusCode()).isEqualTo(200);
      assertThat(logs.linesContaining("The JWT secret file:" + jwtFile + " is shorter than 32 bytes")).isNotEmpty();
    });
    assertThat(verify("https://file.issuer.test", JWT_FILE_TWO).statusCode()).isEqualTo(200);
    Files.writeString(jwtFile, JWT_FILE_TWO);
  }

  @Test
  void aJwtSecretFromSecretsManagerIsReadAtTheFirstTokenAndRotatesWithinTheTtl() {
    var first = verify("https://sm.issuer.test", JWT_SM_ONE);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(TestHttp.json(first).toString()).contains("jwtsm");
    assertThat(verify("https://sm.issuer.test", JWT_SM_TWO).statusCode()).isEqualTo(401);

    secrets.put("prod/jwt", "{\"hs256\": \"" + JWT_SM_TWO + "\"}");
    Eventually.await(Duration.ofSeconds(10), () ->
        assertThat(verify("https://sm.issuer.test", JWT_SM_TWO).statusCode()).isEqualTo(200));
    assertThat(verify("https://sm.issuer.test", JWT_SM_ONE).statusCode()).isEqualTo(401);
    assertThat(logs.linesContaining("The secret aws_secret:prod/jwt#hs256 changed")).isNotEmpty();
  }

  @Test
  void anEmbeddersKeyFromSecretsManagerRotatesWithinTheTtl() {
    // Each search embeds its query through the tenant's embedder (distinct queries: no search cache hit).
    var first = http.postJson("/v1/search", "{\"query\": \"where does the first ferry leave\"}",
        "Authorization", "Bearer " + KEY);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(mock.embeddingAuthorizations()).contains("Bearer " + EMBED_ONE);

    secrets.put("prod/embed", EMBED_TWO);
    int[] attempt = {0};
    Eventually.await(Duration.ofSeconds(10), () -> {
      var r = http.postJson("/v1/search", "{\"query\": \"where does ferry " + (attempt[0]++) + " leave\"}",
          "Authorization", "Bearer " + KEY);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(mock.embeddingAuthorizations()).contains("Bearer " + EMBED_TWO);
    });
  }
}
