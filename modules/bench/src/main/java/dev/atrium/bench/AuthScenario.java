package dev.atrium.bench;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.Ed25519Signer;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code ./atrium bench auth}: what authenticating a request costs the node, by credential:
 * an API key (a SHA-256 and a map lookup), an EdDSA JWT and an RS256 JWT (signature and
 * claims checks with keys already cached), each through {@code GET /v1/tenant} in
 * alternating windows of one run, with node and PostgreSQL CPU per request. Every client
 * has its own key and its own user, so each has its own rate-limit bucket, as in {@code limits}.
 * Tokens are minted here (nimbus, before the measured windows); the tenant reads its public
 * keys from a JWKS file, so no fetch happens while measuring.
 */
final class AuthScenario {
  static final Set<String> OPTIONS = Set.of("concurrency", "duration", "warmup", "window");
  private static final String TENANT = "bench-auth";
  private static final String ISSUER = "https://issuer.bench.invalid";

  private final Http http;
  private final Fleet fleet;
  private final Path runDir;
  private final int concurrency;
  private final Duration duration;
  private final Duration warmup;
  private final Duration window;

  /** A measured credential: one per client. */
  private record Kind(String label, List<String> credentials, Case result) {}

  AuthScenario(BenchOptions o, Http http, Fleet fleet, Path runDir) {
    this.http = http;
    this.fleet = fleet;
    this.runDir = runDir;
    this.concurrency = o.integer("concurrency", 64, 1, 4096);
    this.duration = o.duration("duration", Duration.ofSeconds(30));
    this.warmup = o.duration("warmup", Duration.ofSeconds(20));
    this.window = o.duration("window", Duration.ofSeconds(10));
  }

  void run(Report report) {
    OctetKeyPair ed;
    RSAKey rsa;
    try {
      ed = new OctetKeyPairGenerator(Curve.Ed25519).keyID("bench-ed").algorithm(JWSAlgorithm.EdDSA).generate();
      rsa = new RSAKeyGenerator(2048).keyID("bench-rsa").algorithm(JWSAlgorithm.RS256).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    List<String> keys = new ArrayList<>();
    List<String> edTokens = new ArrayList<>();
    List<String> rsaTokens = new ArrayList<>();
    // Valid well past the run: expiry is checked on every request, never reached.
    Date expiry = Date.from(Instant.now().plus(warmup.plus(duration.multipliedBy(4))).plus(Duration.ofHours(2)));
    for (int i = 0; i < concurrency; i++) {
      keys.add("bench-auth-key-" + i);
      JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(ISSUER).subject("bench-user-" + i).audience("atrium")
          .claim("tier", "PAID").issueTime(new Date()).expirationTime(expiry).build();
      edTokens.add(sign(JWSAlgorithm.EdDSA, ed, claims));
      rsaTokens.add(sign(JWSAlgorithm.RS256, rsa, claims));
    }
    Fleet.Launched atrium = fleet.atrium(writeTenants(keys, new JWKSet(List.<JWK>of(ed, rsa))));
    Meter meter = new Meter().watch("atrium", () -> Cpu.processNanos(atrium.pid()));
    atrium.postgresPid().ifPresent(pg -> meter.watch("postgres", () -> Cpu.treeNanos(pg)));
    URI base = atrium.baseUri();
    List<Kind> kinds = List.of(
        new Kind("API key", keys, new Case("API key")),
        new Kind("JWT EdDSA", edTokens, new Case("JWT EdDSA")),
        new Kind("JWT RS256", rsaTokens, new Case("JWT RS256")));
    smokeTest(base, kinds);

    if (!warmup.isZero()) {
      int slices = Math.max(3, (int) (warmup.toSeconds() / 5));
      System.out.printf("%nwarming up for %d s (%d slices over the three credentials)%n", warmup.toSeconds(), slices);
      for (int i = 0; i < slices; i++) {
        Kind k = kinds.get(i % kinds.size());
        Load.Window w = Load.run("warmup", concurrency, worker -> client(base, k, worker), warmup.dividedBy(slices), meter)
            .requireSuccess();
        System.out.printf("  warm-up %-12s %8s/s  errors %d%n", k.label(), Report.fmt(w.perSecond()), w.errors());
      }
    }
    JdkTools.Jit jitBefore = JdkTools.jit(atrium.pid());
    int rounds = (int) Math.max(1, Math.ceil((double) duration.toMillis() / window.toMillis()));
    Duration each = duration.dividedBy(rounds);
    System.out.printf("%nmeasuring %d round(s) of three %.1f s windows, %d concurrent clients%n", rounds,
        each.toMillis() / 1000.0, concurrency);
    for (int r = 0; r < rounds; r++) {
      List<Kind> order = new ArrayList<>(kinds);
      for (int shift = 0; shift < r % kinds.size(); shift++) {
        order.add(order.remove(0)); // each credential leads a round in turn
      }
      for (Kind k : order) {
        Load.Window w = Load.run(k.label(), concurrency, worker -> client(base, k, worker), each, meter).requireSuccess();
        k.result().add(w);
        System.out.printf("  [%d/%d] %-12s %8s/s  p50 %6s ms  p99 %6s ms  errors %d  atrium %.2f cores  machine %.0f%%%n",
            r + 1, rounds, k.label(), Report.fmt(w.perSecond()), Report.fmt(Case.ms(w.total(), 50)),
            Report.fmt(Case.ms(w.total(), 99)), w.errors(), w.cpuNanos().get("atrium") / (double) w.nanos(),
            w.machineBusy() * 100);
      }
    }
    JdkTools.Jit jitAfter = JdkTools.jit(atrium.pid());
    print(kinds, report);
    report.jit(jitBefore, jitAfter);
  }

  private static String sign(JWSAlgorithm alg, JWK key, JWTClaimsSet claims) {
    try {
      JWSSigner signer = key instanceof RSAKey r ? new RSASSASigner(r) : new Ed25519Signer((OctetKeyPair) key);
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
          claims);
      jwt.sign(signer);
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private Load.Client client(URI base, Kind k, int worker) {
    HttpRequest request = Http.get(base.resolve("/v1/tenant"), k.credentials().get(worker % concurrency)).build();
    return inFlight -> {
      Http.Answer a = http.exchange(request, inFlight);
      if (a.status() != 200) {
        throw new Http.BadAnswer("HTTP " + a.status() + ": " + Http.abbreviate(a.body()));
      }
      return a.timing();
    };
  }

  /** Each credential authenticates before anything is measured (a 401 would measure the refusal). */
  private void smokeTest(URI base, List<Kind> kinds) {
    try {
      for (Kind k : kinds) {
        client(base, k, 0).next(new AtomicReference<>());
      }
    } catch (Exception e) {
      throw new IllegalStateException("smoke test failed: " + e.getMessage(), e);
    }
  }

  private void print(List<Kind> kinds, Report report) {
    System.out.printf("%nresults: %d concurrent clients, GET /v1/tenant, each client its own credential%n", concurrency);
    List<List<String>> rows = new ArrayList<>();
    for (Kind k : kinds) {
      Case c = k.result();
      rows.add(List.of(c.name, Report.fmt(c.perSecond()), Report.fmt(c.totalMs(50)), Report.fmt(c.totalMs(99)),
          Long.toString(c.errors()), Report.fmt(c.cpuMsPerRequest("atrium") * 1000),
          Report.fmt(c.cpuMsPerRequest("postgres") * 1000), Report.fmt(c.cpuMsPerRequest("bench") * 1000),
          Report.fmt(c.machineBusy() * 100)));
    }
    Report.table(List.of("credential", "req/s", "p50 ms", "p99 ms", "errors", "atrium cpu µs/req",
        "postgres cpu µs/req", "bench cpu µs/req", "machine %"), rows);
    Case key = kinds.get(0).result();
    Map<String, Object> added = new LinkedHashMap<>();
    for (Kind k : kinds.subList(1, kinds.size())) {
      double extra = (k.result().cpuMsPerRequest("atrium") - key.cpuMsPerRequest("atrium")) * 1000;
      double ratio = k.result().cpuMsPerRequest("atrium") / key.cpuMsPerRequest("atrium");
      System.out.printf("  %s against an API key: %+.1f µs of node CPU per request (%s×), %s× the throughput%n",
          k.label(), extra, Report.fmt(ratio), Report.fmt(k.result().perSecond() / key.perSecond()));
      String name = k.label().toLowerCase(java.util.Locale.ROOT).replace(' ', '_');
      added.put(name + "_added_atrium_us_per_request", Report.round(extra));
      added.put(name + "_over_key_atrium_cpu", Report.round(ratio));
      added.put(name + "_over_key_throughput", Report.round(k.result().perSecond() / key.perSecond()));
    }
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("concurrency", concurrency);
    config.put("duration_s_per_case", duration.toMillis() / 1000.0);
    config.put("warmup_s", warmup.toMillis() / 1000.0);
    config.put("window_s", window.toMillis() / 1000.0);
    config.put("rsa_bits", 2048);
    List<Map<String, Object>> cases = new ArrayList<>();
    kinds.forEach(k -> cases.add(k.result().toJson()));
    report.put("config", config).put("cases", cases).put("ratios", added);
  }

  /** One tenant: a PAID key per client, and a JWT issuer whose public keys are a JWKS file beside it. */
  private Path writeTenants(List<String> keys, JWKSet jwks) {
    List<Map<String, Object>> apiKeys = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      apiKeys.add(BenchTenants.apiKey("k_" + i, keys.get(i)));
    }
    Map<String, Object> tenant = BenchTenants.tenant(TENANT, apiKeys, BenchTenants.unlimitedRateLimits());
    tenant.put("auth", Map.of("jwt", Map.of("issuer", ISSUER, "audience", "atrium", "jwks_file", TENANT + ".jwks")));
    Path dir = BenchTenants.write(runDir, TENANT, tenant);
    try {
      Files.writeString(dir.resolve(TENANT + ".jwks"), jwks.toPublicJWKSet().toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }
}
