package dev.atrium.core.tenant;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import dev.atrium.core.secrets.SecretException;
import dev.atrium.core.secrets.SecretRef;
import dev.atrium.core.secrets.Secrets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The verification keys a tenant's {@code auth.jwt} names in its file: a JWKS file (public
 * keys only) or the HS256 secret of an environment variable or a file (a mounted Kubernetes
 * Secret, without trailing line breaks). Read once, when the tenants are
 * loaded, so a missing file or variable stops the server with the others' config errors, and
 * no request ever reads a file or the environment. {@link #toString()} shows no key.
 */
public final class JwtKeyMaterial {
  /** HS256's key must be at least as long as its output (RFC 7518 §3.2). */
  public static final int MIN_SECRET_BYTES = 32;

  private final JWKSet keys;
  private final boolean secret;

  private JwtKeyMaterial(JWKSet keys, boolean secret) {
    this.keys = keys;
    this.secret = secret;
  }

  /** The keys: a JWKS file's public keys, or one octet key (the HS256 secret). */
  public JWKSet keys() {
    return keys;
  }

  /** Whether this is an HMAC secret (else public keys). */
  public boolean secret() {
    return secret;
  }

  @Override
  public String toString() {
    return secret ? "JwtKeyMaterial[hmac secret]" : "JwtKeyMaterial[" + keys.size() + " public keys]";
  }

  /**
   * The key material of every tenant whose JWT keys are a file or a secret; each problem
   * (an unreadable or empty file, an unset or short variable) is added to {@code problems},
   * naming a variable but never its value.
   *
   * @param dir what a relative {@code jwks_file} is resolved against (the tenants directory)
   */
  static Map<String, JwtKeyMaterial> load(List<Map.Entry<String, TenantConfig>> tenants, Path dir,
      Function<String, String> env, List<String> problems) {
    Map<String, JwtKeyMaterial> material = new HashMap<>();
    for (var entry : tenants) {
      String file = entry.getKey();
      TenantConfig tenant = entry.getValue();
      TenantConfig.Jwt jwt = tenant.auth().jwt();
      if (jwt == null) {
        continue;
      }
      if (jwt.jwksFile() != null && jwt.jwksUrl() == null && !jwt.hmacSecret()) {
        Path path = dir.resolve(jwt.jwksFile());
        try {
          JWKSet set = JWKSet.load(path.toFile()).toPublicJWKSet();
          if (set.isEmpty()) {
            problems.add(file + ": field 'auth.jwt.jwks_file': " + path + " holds no public keys");
          } else {
            material.put(tenant.id(), new JwtKeyMaterial(set, false));
          }
        } catch (IOException e) {
          problems.add(file + ": field 'auth.jwt.jwks_file': " + path + " cannot be read");
        } catch (ParseException e) {
          problems.add(file + ": field 'auth.jwt.jwks_file': " + path + " is not a JWK set");
        }
      } else if (jwt.hmacSecretEnv() != null && jwt.hmacSecretFile() == null && jwt.jwksUrl() == null
          && jwt.jwksFile() == null) {
        String name = jwt.hmacSecretEnv();
        String value = env.apply(name);
        if (value == null || value.isEmpty()) {
          problems.add(file + ": field 'auth.jwt.hmac_secret_env': the environment variable " + name + " is not set");
          continue;
        }
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < MIN_SECRET_BYTES) {
          problems.add(file + ": field 'auth.jwt.hmac_secret_env': the environment variable " + name + " holds "
              + bytes.length + " bytes; an HS256 secret needs at least " + MIN_SECRET_BYTES);
          continue;
        }
        material.put(tenant.id(), new JwtKeyMaterial(new JWKSet(new OctetSequenceKey.Builder(bytes).build()), true));
      } else if (jwt.hmacSecretFile() != null && jwt.hmacSecretEnv() == null && jwt.jwksUrl() == null
          && jwt.jwksFile() == null) {
        Path path = dir.resolve(jwt.hmacSecretFile());
        Optional<String> value;
        try {
          value = Secrets.of(name -> Optional.empty()).read(SecretRef.file(path.toString()));
        } catch (SecretException e) {
          problems.add(file + ": field 'auth.jwt.hmac_secret_file': " + e.getMessage());
          continue;
        }
        if (value.isEmpty()) {
          problems.add(file + ": field 'auth.jwt.hmac_secret_file': " + path + " does not exist or is empty");
          continue;
        }
        byte[] bytes = value.get().getBytes(StandardCharsets.UTF_8);
        if (bytes.length < MIN_SECRET_BYTES) {
          problems.add(file + ": field 'auth.jwt.hmac_secret_file': " + path + " holds "
              + bytes.length + " bytes; an HS256 secret needs at least " + MIN_SECRET_BYTES);
          continue;
        }
        material.put(tenant.id(), new JwtKeyMaterial(new JWKSet(new OctetSequenceKey.Builder(bytes).build()), true));
      }
    }
    return material;
  }
}
