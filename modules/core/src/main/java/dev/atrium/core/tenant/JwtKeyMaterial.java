package dev.atrium.core.tenant;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.SecurityContext;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verification keys a tenant's {@code auth.jwt} names in its file: a JWKS file (public
 * keys only, read once when the tenants are loaded), or the HS256 secret of an environment
 * variable, a file (a mounted Kubernetes Secret, without trailing line breaks) or an AWS
 * Secrets Manager secret. A variable or file is read at load too, so a missing or short one
 * stops the server with the others' config errors; a file or Secrets Manager secret is then
 * read through {@link Secrets} at verification, cached for its TTL, so a rotated secret is
 * in use within the TTL without a restart. A rotated value that is missing or too short is
 * not used: the last good secret stays in use (and a warning names the place). A Secrets
 * Manager secret is first read by the first token (no network at load). Neither
 * {@link #toString()} nor any message shows a key.
 */
public final class JwtKeyMaterial {
  private static final Logger log = LoggerFactory.getLogger(JwtKeyMaterial.class);
  /** HS256's key must be at least as long as its output (RFC 7518 §3.2). */
  public static final int MIN_SECRET_BYTES = 32;

  /** The public keys of a JWKS file; null for a secret. */
  private final ImmutableJWKSet<SecurityContext> publicKeys;
  /** Where the secret lives; null for public keys. */
  private final SecretRef secretRef;
  /** The last good secret and its key set (a secret only). */
  private volatile Current current;
  /** The unusable value last warned about (the secrets' cache hands out one instance per read). */
  private volatile Optional<String> warned;

  /** A secret's value (compared by identity first: the secrets' cache hands out the same string) and its keys. */
  private record Current(String value, ImmutableJWKSet<SecurityContext> keys) {
    @Override
    public String toString() {
      return "Current[hmac secret]";
    }
  }

  private JwtKeyMaterial(ImmutableJWKSet<SecurityContext> publicKeys, SecretRef secretRef, Current current) {
    this.publicKeys = publicKeys;
    this.secretRef = secretRef;
    this.current = current;
  }

  static JwtKeyMaterial publicKeys(JWKSet keys) {
    return new JwtKeyMaterial(new ImmutableJWKSet<>(keys), null, null);
  }

  /** A secret whose place is {@code ref}; {@code value} is what was read at load, or null (not read yet). */
  static JwtKeyMaterial secret(SecretRef ref, String value) {
    return new JwtKeyMaterial(null, ref, value == null ? null : current(value));
  }

  private static Current current(String value) {
    return new Current(value, new ImmutableJWKSet<>(new JWKSet(
        new OctetSequenceKey.Builder(value.getBytes(StandardCharsets.UTF_8)).build())));
  }

  /** The keys known now: a JWKS file's public keys, the last secret read (empty before the first read). */
  public JWKSet keys() {
    if (publicKeys != null) {
      return publicKeys.getJWKSet();
    }
    Current c = current;
    return c == null ? new JWKSet() : c.keys().getJWKSet();
  }

  /**
   * The keys to verify a token with now: the public keys, or the secret as {@code secrets}
   * has it (cached for its TTL). Empty when a secret has never been read successfully.
   */
  public Optional<ImmutableJWKSet<SecurityContext>> keys(Secrets secrets) {
    if (publicKeys != null) {
      return Optional.of(publicKeys);
    }
    Current known = current;
    if (secretRef.kind() == SecretRef.Kind.ENV) {
      return Optional.ofNullable(known).map(Current::keys); // a process's environment does not change
    }
    Optional<String> value;
    try {
      value = secrets.resolve(secretRef);
    } catch (SecretException e) {
      if (known == null) {
        log.warn("The JWT secret {} cannot be read: {}", secretRef, e.getMessage());
      }
      return Optional.ofNullable(known).map(Current::keys);
    }
    if (value.isPresent() && known != null && (value.get() == known.value() || value.get().equals(known.value()))) {
      return Optional.of(known.keys());
    }
    if (value.isEmpty() || value.get().getBytes(StandardCharsets.UTF_8).length < MIN_SECRET_BYTES) {
      if (warned == value) {
        return Optional.ofNullable(known).map(Current::keys);
      }
      warned = value; // once per value read (at most once a TTL), not once a token
      log.warn("The JWT secret {} is {}; {}", secretRef,
          value.isEmpty() ? "missing or empty" : "shorter than " + MIN_SECRET_BYTES + " bytes",
          known == null ? "tokens of this issuer are refused until it is set" : "the last good secret stays in use");
      return Optional.ofNullable(known).map(Current::keys);
    }
    Current fresh = current(value.get());
    current = fresh;
    return Optional.of(fresh.keys());
  }

  /** Whether this is an HMAC secret (else public keys). */
  public boolean secret() {
    return secretRef != null;
  }

  @Override
  public String toString() {
    return secretRef != null ? "JwtKeyMaterial[hmac secret at " + secretRef + "]"
        : "JwtKeyMaterial[" + publicKeys.getJWKSet().size() + " public keys]";
  }

  /**
   * The key material of every tenant whose JWT keys are a file or a secret; each problem
   * (an unreadable or empty file, an unset or short variable) is added to {@code problems},
   * naming a variable or file but never its value.
   *
   * @param dir what a relative {@code jwks_file} or {@code hmac_secret_file} is resolved against (the tenants directory)
   */
  static Map<String, JwtKeyMaterial> load(List<Map.Entry<String, TenantConfig>> tenants, Path dir,
      Function<String, String> env, List<String> problems) {
    Map<String, JwtKeyMaterial> material = new HashMap<>();
    Secrets direct = Secrets.of(name -> Optional.ofNullable(env.apply(name)));
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
            material.put(tenant.id(), publicKeys(set));
          }
        } catch (IOException e) {
          problems.add(file + ": field 'auth.jwt.jwks_file': " + path + " cannot be read");
        } catch (ParseException e) {
          problems.add(file + ": field 'auth.jwt.jwks_file': " + path + " is not a JWK set");
        }
        continue;
      }
      Optional<SecretRef> place = jwt.hmacSecretRef(dir);
      if (place.isEmpty()) {
        continue; // a JWKS URL, or several places (a load error of its own)
      }
      SecretRef ref = place.get();
      if (ref.kind() == SecretRef.Kind.AWS_SECRET) {
        material.put(tenant.id(), secret(ref, null));
        continue;
      }
      String field = ref.kind() == SecretRef.Kind.ENV ? "hmac_secret_env" : "hmac_secret_file";
      String what = ref.kind() == SecretRef.Kind.ENV ? "the environment variable " + ref.name() : ref.name();
      Optional<String> value;
      try {
        value = direct.read(ref);
      } catch (SecretException e) {
        problems.add(file + ": field 'auth.jwt." + field + "': " + e.getMessage());
        continue;
      }
      if (value.isEmpty()) {
        problems.add(file + ": field 'auth.jwt." + field + "': " + what
            + (ref.kind() == SecretRef.Kind.ENV ? " is not set" : " does not exist or is empty"));
        continue;
      }
      int bytes = value.get().getBytes(StandardCharsets.UTF_8).length;
      if (bytes < MIN_SECRET_BYTES) {
        problems.add(file + ": field 'auth.jwt." + field + "': " + what + " holds " + bytes
            + " bytes; an HS256 secret needs at least " + MIN_SECRET_BYTES);
        continue;
      }
      material.put(tenant.id(), secret(ref, value.get()));
    }
    return material;
  }
}
