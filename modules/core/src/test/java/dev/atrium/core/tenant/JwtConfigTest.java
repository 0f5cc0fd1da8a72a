package dev.atrium.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code auth.jwt} as the registry reads and checks it: key sources, algorithms, secrets, shared issuers. */
class JwtConfigTest {
  static final String SECRET = "0123456789abcdef0123456789abcdef-long-enough";

  @TempDir Path dir;

  void tenant(String id, String jwt) throws IOException {
    Files.writeString(dir.resolve(id + ".json"), """
        {"id": "%s", "display_name": "%s", "api_keys": [], "auth": {"jwt": %s}}
        """.formatted(id, id, jwt));
  }

  TenantRegistry load() {
    return TenantRegistry.load(dir, false, Map.of("JWT_SECRET", SECRET, "SHORT_SECRET", "too-short")::get);
  }

  String failure() {
    try {
      load();
    } catch (TenantConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("expected the tenants to be refused");
  }

  @Test
  void defaultsAndAnAudienceStringAsAList() throws IOException {
    tenant("a", """
        {"issuer": "https://issuer.example", "jwks_url": "https://issuer.example/jwks", "audience": "atrium"}""");
    TenantConfig.Jwt jwt = load().byId("a").orElseThrow().auth().jwt();
    assertThat(jwt.audience()).containsExactly("atrium");
    assertThat(jwt.algorithms()).containsExactly("RS256", "ES256", "EdDSA");
    assertThat(jwt.claims()).isEqualTo(new TenantConfig.JwtClaims("sub", "tier", "account_id", "accounts"));
    assertThat(jwt.defaultTier()).isNull();
    assertThat(jwt.jwksMinRefreshSeconds()).isEqualTo(30);
    assertThat(load().byIssuer("https://issuer.example")).extracting(TenantConfig::id).containsExactly("a");
    assertThat(load().byIssuer("https://other.example")).isEmpty();
  }

  @Test
  void aSecretTenantDefaultsToHs256AndKeepsItsSecretOutOfToString() throws IOException {
    tenant("a", """
        {"issuer": "https://issuer.example", "hmac_secret_env": "JWT_SECRET", "audience": ["x", "y"]}""");
    TenantRegistry registry = load();
    assertThat(registry.byId("a").orElseThrow().auth().jwt().algorithms()).containsExactly("HS256");
    JwtKeyMaterial keys = registry.jwtKeys("a").orElseThrow();
    assertThat(keys.secret()).isTrue();
    assertThat(keys.toString()).doesNotContain(SECRET).doesNotContain("MDEy");
  }

  @Test
  void exactlyOneKeySource() throws IOException {
    tenant("a", """
        {"issuer": "https://a.example"}""");
    tenant("b", """
        {"issuer": "https://b.example", "jwks_url": "https://b.example/jwks", "hmac_secret_env": "JWT_SECRET"}""");
    String failure = failure();
    assertThat(failure).contains("a.json: field 'auth.jwt': needs exactly one of jwks_url, jwks_file, hmac_secret_env, hmac_secret_file, hmac_secret_aws (has 0)");
    assertThat(failure).contains("b.json: field 'auth.jwt': needs exactly one of jwks_url, jwks_file, hmac_secret_env, hmac_secret_file, hmac_secret_aws (has 2)");
  }

  @Test
  void hs256OnlyWithASecretAndASecretOnlyForHs256() throws IOException {
    tenant("a", """
        {"issuer": "https://a.example", "jwks_url": "https://a.example/jwks", "algorithms": ["RS256", "HS256"]}""");
    tenant("b", """
        {"issuer": "https://b.example", "hmac_secret_env": "JWT_SECRET", "algorithms": ["HS256", "EdDSA"]}""");
    String failure = failure();
    assertThat(failure).contains("a.json: field 'auth.jwt.algorithms': 'HS256' is allowed only with an HMAC secret");
    assertThat(failure).contains("b.json: field 'auth.jwt.algorithms': 'EdDSA' needs a key set");
  }

  @Test
  void aMissingOrShortSecretIsALoadErrorNamingTheVariableNotItsValue() throws IOException {
    tenant("a", """
        {"issuer": "https://a.example", "hmac_secret_env": "UNSET_SECRET"}""");
    tenant("b", """
        {"issuer": "https://b.example", "hmac_secret_env": "SHORT_SECRET"}""");
    String failure = failure();
    assertThat(failure).contains("a.json: field 'auth.jwt.hmac_secret_env': the environment variable UNSET_SECRET is not set");
    assertThat(failure).contains("b.json: field 'auth.jwt.hmac_secret_env': the environment variable SHORT_SECRET holds 9"
        + " bytes; an HS256 secret needs at least 32");
    assertThat(failure).doesNotContain("too-short");
  }

  @Test
  void aSecretFileIsReadAtLoadWithoutItsLineBreakAndAShortOrMissingOneIsALoadError() throws IOException {
    Files.writeString(dir.resolve("hmac.secret"), SECRET + "\n");
    tenant("a", """
        {"issuer": "https://a.example", "hmac_secret_file": "hmac.secret"}""");
    JwtKeyMaterial keys = load().jwtKeys("a").orElseThrow();
    assertThat(keys.secret()).isTrue();
    assertThat(keys.keys().getKeys().get(0).toOctetSequenceKey().toByteArray())
        .isEqualTo(SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(load().byId("a").orElseThrow().auth().jwt().algorithms()).containsExactly("HS256");
    assertThat(keys.toString()).doesNotContain(SECRET);

    Files.writeString(dir.resolve("short.secret"), "too-short-file");
    tenant("b", """
        {"issuer": "https://b.example", "hmac_secret_file": "short.secret"}""");
    tenant("c", """
        {"issuer": "https://c.example", "hmac_secret_file": "absent.secret"}""");
    tenant("d", """
        {"issuer": "https://d.example", "hmac_secret_file": "hmac.secret", "hmac_secret_env": "JWT_SECRET"}""");
    String failure = failure();
    assertThat(failure).contains("b.json: field 'auth.jwt.hmac_secret_file': " + dir.resolve("short.secret")
        + " holds 14 bytes; an HS256 secret needs at least 32");
    assertThat(failure).contains("c.json: field 'auth.jwt.hmac_secret_file': " + dir.resolve("absent.secret")
        + " does not exist or is empty");
    assertThat(failure).contains("d.json: field 'auth.jwt': needs exactly one of jwks_url, jwks_file, hmac_secret_env,"
        + " hmac_secret_file, hmac_secret_aws (has 2)");
    assertThat(failure).doesNotContain("too-short-file").doesNotContain(SECRET);
  }

  @Test
  void aSecretsManagerSecretIsNamedAtLoadAndReadAtTheFirstToken() throws IOException {
    tenant("a", """
        {"issuer": "https://a.example", "hmac_secret_aws": {"name": "prod/jwt", "field": "hs256"}}""");
    TenantRegistry registry = load();
    assertThat(registry.byId("a").orElseThrow().auth().jwt().algorithms()).containsExactly("HS256");
    JwtKeyMaterial keys = registry.jwtKeys("a").orElseThrow();
    assertThat(keys.secret()).isTrue();
    assertThat(keys.keys().isEmpty()).as("nothing read at load").isTrue();
    assertThat(keys.toString()).isEqualTo("JwtKeyMaterial[hmac secret at aws_secret:prod/jwt#hs256]");

    tenant("b", """
        {"issuer": "https://b.example", "hmac_secret_aws": {"name": "prod/jwt"}, "hmac_secret_env": "JWT_SECRET"}""");
    tenant("c", """
        {"issuer": "https://c.example", "hmac_secret_aws": {"name": "prod/jwt"}, "algorithms": ["RS256"]}""");
    String failure = failure();
    assertThat(failure).contains("b.json: field 'auth.jwt': needs exactly one of jwks_url, jwks_file, hmac_secret_env,"
        + " hmac_secret_file, hmac_secret_aws (has 2)");
    assertThat(failure).contains("c.json: field 'auth.jwt.algorithms': 'RS256' needs a key set");
  }

  @Test
  void aJwksFileIsReadAtLoadAndABadOneIsALoadError() throws Exception {
    JWKSet set = new JWKSet(new OctetKeyPairGenerator(Curve.Ed25519).keyID("ed1").generate());
    Files.writeString(dir.resolve("good.jwks"), set.toString(false)); // with the private part: kept public only
    tenant("a", """
        {"issuer": "https://a.example", "jwks_file": "good.jwks"}""");
    JwtKeyMaterial keys = load().jwtKeys("a").orElseThrow();
    assertThat(keys.secret()).isFalse();
    assertThat(keys.keys().getKeyByKeyId("ed1").isPrivate()).isFalse();

    Files.writeString(dir.resolve("bad.jwks"), "not json");
    tenant("b", """
        {"issuer": "https://b.example", "jwks_file": "bad.jwks"}""");
    Files.writeString(dir.resolve("empty.jwks"), "{\"keys\": [{\"kty\": \"nope\"}]}");
    tenant("d", """
        {"issuer": "https://d.example", "jwks_file": "empty.jwks"}""");
    tenant("c", """
        {"issuer": "https://c.example", "jwks_file": "missing.jwks"}""");
    String failure = failure();
    assertThat(failure).contains("b.json: field 'auth.jwt.jwks_file': " + dir.resolve("bad.jwks") + " is not a JWK set");
    assertThat(failure).contains("c.json: field 'auth.jwt.jwks_file': " + dir.resolve("missing.jwks") + " cannot be read");
    assertThat(failure).contains("d.json: field 'auth.jwt.jwks_file': " + dir.resolve("empty.jwks") + " holds no public keys");
  }

  @Test
  void anIssuerIsOneTenantsUnlessEverySharerNamesATenantClaim() throws IOException {
    tenant("a", """
        {"issuer": "https://shared.example", "jwks_url": "https://shared.example/jwks", "tenant_claim": "org"}""");
    tenant("b", """
        {"issuer": "https://shared.example", "jwks_url": "https://shared.example/jwks"}""");
    assertThat(failure()).contains("b.json: field 'auth.jwt.issuer': 'https://shared.example' is also the issuer of "
        + dir.resolve("a.json") + "; tenants sharing an issuer must each name a tenant_claim")
        .doesNotContain("a.json: field 'auth.jwt.issuer'");
    tenant("b", """
        {"issuer": "https://shared.example", "jwks_url": "https://shared.example/jwks", "tenant_claim": "org"}""");
    assertThat(load().byIssuer("https://shared.example")).extracting(TenantConfig::id).containsExactly("a", "b");
  }

  @Test
  void theSchemaRefusesUnknownAlgorithmsAndFields() throws IOException {
    tenant("a", """
        {"issuer": "https://a.example", "jwks_url": "https://a.example/jwks", "algorithms": ["none"]}""");
    tenant("b", """
        {"issuer": "https://b.example", "jwks_url": "https://b.example/jwks", "claims": {"role": "r"}}""");
    String failure = failure();
    assertThat(failure).contains("a.json: field 'auth.jwt.algorithms[0]'");
    assertThat(failure).contains("b.json: field 'auth.jwt.claims.role': unknown field");
    assertThat(List.of(failure.split("\n"))).noneMatch(line -> line.contains("c.json"));
  }
}
