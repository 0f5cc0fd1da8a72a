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

  @TempDir static Path tenantsDir;
  @TempDir static Path secretsDir;
  static Path keyFile;
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
                                             "api_key_secret": {"name": "prod/llm", "field": "api_key"}}}},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY), mock.baseUrl(), keyFile, mock.baseUrl()));
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
          .filter(l -> List.of(FILE_ONE, FILE_TWO, SM_ONE, SM_TWO).stream().anyMatch(l::contains)).toList();
      assertThat(leaked).as("log lines holding a provider key").isEmpty();
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
}
