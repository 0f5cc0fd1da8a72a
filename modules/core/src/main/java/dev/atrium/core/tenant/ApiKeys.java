package dev.atrium.core.tenant;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;

/** API keys are stored and compared only as SHA-256 hashes. */
public final class ApiKeys {
  private ApiKeys() {}

  /**
   * Hashes of the development keys shipped in {@code tenants/} ("demo-key", "demo-free-key",
   * "acme-key"): refused under {@code --prod} even if someone drops their {@code development} flag.
   */
  static final Set<String> WELL_KNOWN_DEVELOPMENT_HASHES = Set.of(sha256("demo-key"), sha256("demo-free-key"),
      sha256("acme-key"));

  public static String sha256(String key) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }

  static boolean isDevelopmentKey(TenantConfig.ApiKeyConfig key) {
    return key.development() || WELL_KNOWN_DEVELOPMENT_HASHES.contains(key.sha256());
  }
}
