package dev.atrium.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tenant files a run's node reads, written to the run's own tenants folder: the
 * checkout's files stay untouched, and the bench's load is never throttled by the rate
 * limits and stream slots that protect a development node (their cost is still paid: the
 * limiter is asked on every request).
 */
final class BenchTenants {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> ROUTE_CLASSES = List.of("default", "chat", "completions", "search", "ingest",
      "runs", "tools");

  private BenchTenants() {}

  /** Token buckets for every route class, far above anything one machine can send. */
  static Map<String, Object> unlimitedRateLimits() {
    Map<String, Object> bucket = Map.of("capacity", 1_000_000, "refill_per_second", 1_000_000);
    Map<String, Object> limits = new LinkedHashMap<>();
    ROUTE_CLASSES.forEach(c -> limits.put(c, Map.of("free", bucket, "paid", bucket)));
    return limits;
  }

  /** Concurrent streams far above the bench's clients (the defaults allow 4 per key, 64 per tenant). */
  static Map<String, Object> unlimitedStreamSlots() {
    return Map.of("per_client", 100_000, "per_tenant", 1_000_000);
  }

  /** A PAID development key, stored as its hash like every key in a tenant file. */
  static Map<String, Object> apiKey(String id, String key) {
    return apiKey(id, key, "PAID");
  }

  /** A development key of {@code tier} (FREE or PAID). */
  static Map<String, Object> apiKey(String id, String key, String tier) {
    return Map.of("id", id, "label", key, "sha256", sha256(key), "tier", tier, "development", true);
  }

  /**
   * A tenant with the built-in {@code local} model (no upstream) and unlimited stream
   * slots; callers add or replace fields (models, runs) on the returned map.
   */
  static Map<String, Object> tenant(String id, List<Map<String, Object>> keys, Map<String, Object> rateLimits) {
    Map<String, Object> tenant = new LinkedHashMap<>();
    tenant.put("id", id);
    tenant.put("display_name", "Benchmark tenant " + id + " (written by ./atrium bench)");
    tenant.put("api_keys", keys);
    tenant.put("rate_limits", rateLimits);
    tenant.put("stream_slots", unlimitedStreamSlots());
    return tenant;
  }

  /**
   * A tenant with key {@code key} (PAID) whose model {@code mock} is the mock upstream at
   * {@code mockV1} (no retries), unlimited rate limits and stream slots; callers add fields
   * (features) on the returned map.
   */
  static Map<String, Object> mockTenant(String id, String key, java.net.URI mockV1) {
    Map<String, Object> tenant = tenant(id, List.of(Map.of("id", "k_" + id, "label", key, "sha256", sha256(key),
        "tier", "PAID", "development", true)), unlimitedRateLimits());
    tenant.put("models", Map.of(
        "default_model", "mock",
        "models", Map.of("mock", Map.of("provider", "mock", "upstream_model", "mock-model")),
        "providers", Map.of("mock", Map.of("type", "openai", "base_url", mockV1.toString(),
            "timeout_ms", 60_000, "max_retries", 0))));
    return tenant;
  }

  /** The checkout's tenant file as it is, but for its rate limits and stream slots. */
  static Path copyUnlimited(Path checkoutTenants, String id, Path runDir) {
    try {
      ObjectNode tenant = (ObjectNode) JSON.readTree(checkoutTenants.resolve(id + ".json").toFile());
      tenant.set("rate_limits", JSON.valueToTree(unlimitedRateLimits()));
      tenant.set("stream_slots", JSON.valueToTree(unlimitedStreamSlots()));
      return write(runDir, id, tenant);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read tenant " + id + " from " + checkoutTenants, e);
    }
  }

  /** Writes {@code <runDir>/tenants/<id>.json} and returns the folder. */
  static Path write(Path runDir, String id, Object tenant) {
    Path dir = runDir.resolve("tenants");
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(id + ".json"), Report.json(tenant));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }

  static String sha256(String key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
