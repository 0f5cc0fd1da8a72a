package dev.atrium.core.tenant;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.atrium.core.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The tenants of this node, read from one JSON file per tenant. Loading either yields a
 * registry whose every tenant is valid, or throws naming each bad file, field and reason: a
 * server never starts with a half-understood tenant. Lookups answer from one immutable
 * {@link Snapshot}; a reload checks a whole new set the same way and swaps it in with
 * {@link #replace}, so every module that looks tenants up per request or command sees it.
 */
public final class TenantRegistry {
  /** A back-reference (a backslash and a digit, or k<name>) or a named group, not escaped: see checkGuardrails. */
  private static final java.util.regex.Pattern GROUP_REFERENCES =
      java.util.regex.Pattern.compile("(?<!\\\\)(?:\\\\\\\\)*(?:\\\\[1-9]|\\\\k<)|\\(\\?<[A-Za-z]");

  private static final JsonSchema SCHEMA = loadSchema();

  /** What this registry answers now: swapped whole by {@link #replace}, so a lookup never sees half a set. */
  private final AtomicReference<Snapshot> current;
  /** Where the set came from, so the node can read and check a set again (absent for {@link #of}). */
  private final Optional<Origin> origin;

  /** A presented API key that belongs to a tenant. */
  public record KeyMatch(TenantConfig tenant, TenantConfig.ApiKeyConfig key) {}

  /**
   * How a node reads tenant files: the directory (a relative {@code jwks_file} resolves
   * against it), whether development keys are refused, and where environment variables are
   * looked up. A set published by another node is parsed with this node's origin.
   */
  public record Origin(Path dir, boolean production, Function<String, String> env) {}

  /**
   * One validated set of tenants with its lookups: immutable. {@code version} is the
   * cluster-wide number of the set (0: as this node read it at start, before any reload);
   * {@code sources} the file texts by file name, {@code hashes} each tenant's SHA-256 of
   * its file text (of its canonical JSON for tenants built in memory).
   */
  public static final class Snapshot {
    private final Map<String, TenantConfig> byId;
    private final Map<String, KeyMatch> byKeyHash;
    private final Map<String, TenantConfig> byHost;
    private final Map<String, List<TenantConfig>> byIssuer;
    private final Map<String, JwtKeyMaterial> jwtKeys;
    private final long version;
    private final SortedMap<String, String> sources;
    private final SortedMap<String, String> hashes;

    private Snapshot(Collection<TenantConfig> tenants, Map<String, JwtKeyMaterial> jwtKeys, long version,
        SortedMap<String, String> sources, SortedMap<String, String> hashes) {
      Map<String, TenantConfig> ids = new LinkedHashMap<>();
      Map<String, KeyMatch> keys = new HashMap<>();
      Map<String, TenantConfig> hosts = new HashMap<>();
      Map<String, List<TenantConfig>> issuers = new HashMap<>();
      for (TenantConfig t : tenants) {
        ids.put(t.id(), t);
        t.apiKeys().forEach(k -> keys.put(k.sha256(), new KeyMatch(t, k)));
        t.hosts().forEach(h -> hosts.put(h.toLowerCase(Locale.ROOT), t));
        t.auth().jwtSettings().ifPresent(jwt -> issuers.computeIfAbsent(jwt.issuer(), i -> new ArrayList<>()).add(t));
      }
      this.byId = Map.copyOf(ids);
      this.byKeyHash = Map.copyOf(keys);
      this.byHost = Map.copyOf(hosts);
      Map<String, List<TenantConfig>> frozen = new HashMap<>();
      issuers.forEach((issuer, list) -> frozen.put(issuer, List.copyOf(list)));
      this.byIssuer = Map.copyOf(frozen);
      this.jwtKeys = Map.copyOf(jwtKeys);
      this.version = version;
      this.sources = Collections.unmodifiableSortedMap(new TreeMap<>(sources));
      this.hashes = Collections.unmodifiableSortedMap(new TreeMap<>(hashes));
    }

    private Snapshot withVersion(long newVersion) {
      return new Snapshot(byId.values(), jwtKeys, newVersion, sources, hashes);
    }

    public Optional<TenantConfig> byId(String id) {
      return Optional.ofNullable(byId.get(id));
    }

    public Optional<KeyMatch> byKey(String presentedKey) {
      return Optional.ofNullable(byKeyHash.get(ApiKeys.sha256(presentedKey)));
    }

    public Optional<TenantConfig> byHost(String host) {
      return Optional.ofNullable(byHost.get(host.toLowerCase(Locale.ROOT)));
    }

    public List<TenantConfig> byIssuer(String issuer) {
      return byIssuer.getOrDefault(issuer, List.of());
    }

    public Optional<JwtKeyMaterial> jwtKeys(String tenantId) {
      return Optional.ofNullable(jwtKeys.get(tenantId));
    }

    public List<TenantConfig> all() {
      return byId.values().stream().sorted(Comparator.comparing(TenantConfig::id)).toList();
    }

    public long version() {
      return version;
    }

    /** The tenant files' texts by file name (empty for tenants built in memory): what a reload publishes. */
    public SortedMap<String, String> sources() {
      return sources;
    }

    /** Each tenant's content hash (hex SHA-256), by tenant id. */
    public SortedMap<String, String> hashes() {
      return hashes;
    }

    /** The SHA-256 of the whole set: of each tenant id and content hash, in id order. */
    public String setHash() {
      StringBuilder all = new StringBuilder();
      hashes.forEach((id, hash) -> all.append(id).append('=').append(hash).append('\n'));
      return sha256Hex(all.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  private TenantRegistry(Snapshot snapshot, Optional<Origin> origin) {
    this.current = new AtomicReference<>(snapshot);
    this.origin = origin;
  }

  /** A registry over tenants already in memory (tests, and tools that build configs). */
  public static TenantRegistry of(Collection<TenantConfig> tenants, boolean production) {
    List<String> problems = new ArrayList<>();
    var named = tenants.stream().map(t -> Map.entry(t.id() + ".json", t)).toList();
    crossCheck(named, production, problems);
    Map<String, JwtKeyMaterial> jwtKeys = JwtKeyMaterial.load(named, Path.of(""), System::getenv, problems);
    if (!problems.isEmpty()) {
      throw new TenantConfigException(problems);
    }
    SortedMap<String, String> hashes = new TreeMap<>();
    for (TenantConfig t : tenants) {
      byte[] canonical;
      try {
        canonical = Json.MAPPER.writeValueAsBytes(t);
      } catch (JsonProcessingException | RuntimeException e) {
        canonical = t.toString().getBytes(StandardCharsets.UTF_8);
      }
      hashes.put(t.id(), sha256Hex(canonical));
    }
    return new TenantRegistry(new Snapshot(tenants, jwtKeys, 0, new TreeMap<>(), hashes), Optional.empty());
  }

  /**
   * Reads every {@code *.json} file in {@code dir}.
   *
   * @param production refuse development keys (the server's staging and prod modes)
   */
  public static TenantRegistry load(Path dir, boolean production) {
    return load(dir, production, System::getenv);
  }

  /**
   * As {@link #load(Path, boolean)}, looking environment variables ({@code auth.jwt.hmac_secret_env})
   * up in {@code env} (null: not set).
   */
  public static TenantRegistry load(Path dir, boolean production, Function<String, String> env) {
    return parse(new Origin(dir, production, env), readSources(dir));
  }

  /**
   * The text of every {@code *.json} file in {@code dir}, by file name: what a reload
   * reads before it checks anything.
   *
   * @throws TenantConfigException when the directory is missing, unreadable or holds no tenant file
   */
  public static SortedMap<String, String> readSources(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new TenantConfigException(List.of(dir + ": the tenants directory does not exist"));
    }
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(p -> p.getFileName().toString().endsWith(".json"))
          .sorted(Comparator.comparing(Path::toString)).toList();
    } catch (IOException e) {
      throw new TenantConfigException(List.of(dir + ": cannot be listed: " + e.getMessage()));
    }
    if (files.isEmpty()) {
      throw new TenantConfigException(List.of(dir + ": no tenant files (*.json)"));
    }
    SortedMap<String, String> sources = new TreeMap<>();
    List<String> problems = new ArrayList<>();
    for (Path file : files) {
      try {
        sources.put(file.getFileName().toString(), Files.readString(file, StandardCharsets.UTF_8));
      } catch (IOException e) {
        problems.add(file + ": cannot be read: " + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new TenantConfigException(problems);
    }
    return sources;
  }

  /**
   * A registry of tenant files given as texts by file name (read here, or published by
   * another node), checked exactly as at start: the schema, each file's own rules, the rules
   * across files, and the JWT key material, which is read with {@code origin}'s directory
   * and environment.
   *
   * @throws TenantConfigException naming each bad file, field and reason
   */
  public static TenantRegistry parse(Origin origin, SortedMap<String, String> sources) {
    if (sources.isEmpty()) {
      throw new TenantConfigException(List.of(origin.dir() + ": no tenant files (*.json)"));
    }
    List<String> problems = new ArrayList<>();
    List<Map.Entry<String, TenantConfig>> loaded = new ArrayList<>();
    SortedMap<String, String> hashes = new TreeMap<>();
    sources.forEach((name, text) -> {
      Path file = origin.dir().resolve(name);
      if (!name.endsWith(".json") || !file.getFileName().toString().equals(name)) {
        problems.add(file + ": not a tenant file name (a *.json file in the tenants directory)");
        return;
      }
      readFile(file, text, problems).ifPresent(t -> {
        loaded.add(Map.entry(file.toString(), t));
        hashes.put(t.id(), sha256Hex(text.getBytes(StandardCharsets.UTF_8)));
      });
    });
    crossCheck(loaded, origin.production(), problems);
    Map<String, JwtKeyMaterial> jwtKeys = JwtKeyMaterial.load(loaded, origin.dir(), origin.env(), problems);
    if (!problems.isEmpty()) {
      throw new TenantConfigException(problems);
    }
    return new TenantRegistry(new Snapshot(loaded.stream().map(Map.Entry::getValue).toList(), jwtKeys, 0,
        sources, hashes), Optional.of(origin));
  }

  private static Optional<TenantConfig> readFile(Path file, String text, List<String> problems) {
    JsonNode tree;
    try {
      tree = Json.STRICT.readTree(text);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      problems.add(file + ": not valid JSON at line " + at.getLineNr() + ", column " + at.getColumnNr()
          + ": " + e.getOriginalMessage());
      return Optional.empty();
    }
    if (tree == null || tree.isMissingNode()) {
      problems.add(file + ": not valid JSON: the file is empty");
      return Optional.empty();
    }
    List<ValidationMessage> messages = SCHEMA.validate(tree).stream()
        .sorted(Comparator.comparing(m -> m.getInstanceLocation().toString())).toList();
    if (!messages.isEmpty()) {
      messages.forEach(m -> problems.add(file + ": " + describe(m)));
      return Optional.empty();
    }
    TenantConfig tenant;
    try {
      tenant = Json.STRICT.treeToValue(tree, TenantConfig.class);
    } catch (MismatchedInputException e) {
      problems.add(file + ": field '" + Json.fieldPath(e) + "': " + e.getOriginalMessage());
      return Optional.empty();
    } catch (JsonProcessingException e) {
      problems.add(file + ": " + e.getOriginalMessage());
      return Optional.empty();
    }
    String expectedId = file.getFileName().toString().replaceFirst("\\.json$", "");
    if (!tenant.id().equals(expectedId)) {
      problems.add(file + ": field 'id': is '" + tenant.id() + "' but the file is named "
          + expectedId + ".json (the id and the file name must match)");
    }
    checkModels(file.toString(), tenant, problems);
    return Optional.of(tenant);
  }

  private static String describe(ValidationMessage m) {
    String location = m.getInstanceLocation().toString();
    String field = location.equals("$") ? "(top level)" : location.replaceFirst("^\\$\\.", "");
    String reason = m.getMessage();
    // networknt prefixes the message with the location; keep the reason only.
    int colon = reason.indexOf(": ");
    if (colon > 0 && reason.startsWith("$")) {
      reason = reason.substring(colon + 2);
    }
    if (m.getProperty() != null && "required".equals(m.getType())) {
      field = (location.equals("$") ? "" : field + ".") + m.getProperty();
    } else if (m.getProperty() != null && "additionalProperties".equals(m.getType())) {
      field = (location.equals("$") ? "" : field + ".") + m.getProperty();
      reason = "unknown field (not in the tenant schema)";
    }
    return "field '" + field + "': " + reason;
  }

  private static void checkModels(String file, TenantConfig t, List<String> problems) {
    var models = t.models();
    if (!models.models().containsKey(models.defaultModel())) {
      problems.add(file + ": field 'models.default_model': '" + models.defaultModel()
          + "' is not one of the tenant's models " + models.models().keySet().stream().sorted().toList());
    }
    models.models().forEach((name, route) -> {
      if (!models.providers().containsKey(route.provider())) {
        problems.add(file + ": field 'models.models." + name + ".provider': '" + route.provider()
            + "' is not one of the tenant's providers " + models.providers().keySet().stream().sorted().toList());
      }
      route.fallbacks().stream().filter(f -> !models.models().containsKey(f)).forEach(f ->
          problems.add(file + ": field 'models.models." + name + ".fallbacks': '" + f + "' is not one of the tenant's models"));
    });
    models.tasks().forEach((task, model) -> {
      if (!models.models().containsKey(model)) {
        problems.add(file + ": field 'models.tasks." + task.wireName() + "': '" + model
            + "' is not one of the tenant's models " + models.models().keySet().stream().sorted().toList());
      }
    });
    models.allowed().stream().filter(m -> !models.models().containsKey(m)).forEach(m ->
        problems.add(file + ": field 'models.allowed': '" + m + "' is not one of the tenant's models "
            + models.models().keySet().stream().sorted().toList()));
    models.providers().forEach((name, provider) -> {
      if (provider.type() != TenantConfig.ProviderType.LOCAL && provider.baseUrl() == null) {
        problems.add(file + ": field 'models.providers." + name + ".base_url': required for an "
            + provider.type().name().toLowerCase(java.util.Locale.ROOT) + " provider");
      }
      long keySources = java.util.stream.Stream.of(provider.apiKeyEnv(), provider.apiKeyFile(),
          provider.apiKeySecret()).filter(java.util.Objects::nonNull).count();
      if (keySources > 1) {
        problems.add(file + ": field 'models.providers." + name + "': at most one of api_key_env, api_key_file,"
            + " api_key_secret (has " + keySources + ")");
      }
    });
    t.byok().providers().forEach((family, provider) -> {
      var settings = models.providers().get(provider);
      if (settings == null || settings.type() == TenantConfig.ProviderType.LOCAL) {
        problems.add(file + ": field 'byok.providers." + family + "': '" + provider
            + "' is not one of the tenant's remote providers " + models.providers().entrySet().stream()
                .filter(e -> e.getValue().type() != TenantConfig.ProviderType.LOCAL).map(Map.Entry::getKey).sorted()
                .toList());
      }
    });
    for (int i = 0; i < t.trustedProxies().size(); i++) {
      try {
        dev.atrium.core.limits.ClientAddress.Cidr.parse(t.trustedProxies().get(i));
      } catch (RuntimeException e) {
        problems.add(file + ": field 'trusted_proxies[" + i + "]': '" + t.trustedProxies().get(i)
            + "' is not an IP address or CIDR network");
      }
    }
    var documents = t.documents();
    if (!documents.embedder().equals("local")) {
      var provider = models.providers().get(documents.embedder());
      if (provider == null || provider.type() != TenantConfig.ProviderType.OPENAI) {
        problems.add(file + ": field 'documents.embedder': '" + documents.embedder()
            + "' is neither 'local' nor one of the tenant's openai providers");
      } else if (documents.embeddingModel() == null) {
        problems.add(file + ": field 'documents.embedding_model': required with an openai embedder");
      }
    }
    if (documents.chunkOverlapTokens() >= documents.chunkTokens()) {
      problems.add(file + ": field 'documents.chunk_overlap_tokens': must be smaller than chunk_tokens ("
          + documents.chunkTokens() + ")");
    }
    if (documents.embedder().equals("local") && documents.chunkTokens() > 256) {
      problems.add(file + ": field 'documents.chunk_tokens': the local embedder reads at most 256 word-pieces");
    }
    checkGuardrails(file, t.guardrails(), problems);
    t.auth().jwtSettings().ifPresent(jwt -> checkJwt(file, jwt, problems));
    Map<String, Integer> keyIds = new HashMap<>();
    for (int i = 0; i < t.apiKeys().size(); i++) {
      Integer earlier = keyIds.putIfAbsent(t.apiKeys().get(i).id(), i);
      if (earlier != null) {
        problems.add(file + ": field 'api_keys[" + i + "].id': '" + t.apiKeys().get(i).id()
            + "' is already the id of api_keys[" + earlier + "]");
      }
    }
  }

  /** One key source; HS256 exactly with a secret (a key set never verifies an HMAC: no key confusion). */
  private static void checkJwt(String file, TenantConfig.Jwt jwt, List<String> problems) {
    long sources = java.util.stream.Stream.of(jwt.jwksUrl(), jwt.jwksFile(), jwt.hmacSecretEnv(), jwt.hmacSecretFile(),
        jwt.hmacSecretAws()).filter(java.util.Objects::nonNull).count();
    if (sources != 1) {
      problems.add(file + ": field 'auth.jwt': needs exactly one of jwks_url, jwks_file, hmac_secret_env,"
          + " hmac_secret_file, hmac_secret_aws (has "
          + sources + ")");
      return;
    }
    if (jwt.hmacSecret()) {
      jwt.algorithms().stream().filter(a -> !a.equals("HS256")).forEach(a ->
          problems.add(file + ": field 'auth.jwt.algorithms': '" + a + "' needs a key set (jwks_url or jwks_file);"
              + " an HMAC secret verifies HS256 only"));
    } else if (jwt.algorithms().contains("HS256")) {
      problems.add(file + ": field 'auth.jwt.algorithms': 'HS256' is allowed only with an HMAC secret (hmac_secret_env, hmac_secret_file or hmac_secret_aws)"
          + " (an HMAC keyed with a public key would let anyone sign)");
    }
    if (jwt.jwksUrl() != null) {
      try {
        java.net.URI uri = new java.net.URI(jwt.jwksUrl());
        if (uri.getHost() == null) {
          problems.add(file + ": field 'auth.jwt.jwks_url': has no host");
        }
      } catch (java.net.URISyntaxException e) {
        problems.add(file + ": field 'auth.jwt.jwks_url': not a valid URL");
      }
    }
  }

  /** Every blocklist pattern compiles (as the gateway compiles it: case-insensitive); rule codes are unique. */
  private static void checkGuardrails(String file, TenantConfig.Guardrails guardrails, List<String> problems) {
    Map<String, Integer> codes = new HashMap<>();
    for (int i = 0; i < guardrails.blocklists().size(); i++) {
      TenantConfig.BlockRule rule = guardrails.blocklists().get(i);
      Integer earlier = codes.putIfAbsent(rule.code(), i);
      if (earlier != null) {
        problems.add(file + ": field 'guardrails.blocklists[" + i + "].code': '" + rule.code()
            + "' is already the code of guardrails.blocklists[" + earlier + "]");
      }
      for (int j = 0; j < rule.patterns().size(); j++) {
        try {
          java.util.regex.Pattern.compile(rule.patterns().get(j),
              java.util.regex.Pattern.CASE_INSENSITIVE | java.util.regex.Pattern.UNICODE_CASE);
          if (GROUP_REFERENCES.matcher(rule.patterns().get(j)).find()) {
            // All of a tenant's patterns are one alternation: group numbers shift and names could clash.
            problems.add(file + ": field 'guardrails.blocklists[" + i + "].patterns[" + j
                + "]': back-references and named groups are not supported (the patterns are combined into one"
                + " expression); use non-capturing groups (?:...)");
          }
        } catch (java.util.regex.PatternSyntaxException e) {
          problems.add(file + ": field 'guardrails.blocklists[" + i + "].patterns[" + j
              + "]': not a valid regular expression: " + e.getDescription() + " near index " + e.getIndex());
        }
      }
    }
  }

  private static void crossCheck(List<Map.Entry<String, TenantConfig>> tenants, boolean production, List<String> problems) {
    Map<String, String> keyOwner = new HashMap<>();
    Map<String, String> hostOwner = new HashMap<>();
    Map<String, String> idOwner = new HashMap<>();
    for (var entry : tenants) {
      String file = entry.getKey();
      TenantConfig t = entry.getValue();
      String otherId = idOwner.putIfAbsent(t.id(), file);
      if (otherId != null) {
        problems.add(file + ": field 'id': '" + t.id() + "' is also the id in " + otherId);
      }
      for (int i = 0; i < t.apiKeys().size(); i++) {
        var key = t.apiKeys().get(i);
        String other = keyOwner.putIfAbsent(key.sha256(), file);
        if (other != null) {
          problems.add(file + ": field 'api_keys[" + i + "].sha256': the same key is also configured in " + other);
        }
        if (production && ApiKeys.isDevelopmentKey(key)) {
          problems.add(file + ": field 'api_keys[" + i + "]': key '" + key.id()
              + "' is a development key, refused in staging and prod modes (ATRIUM_MODE, --prod)");
        }
      }
      for (String host : t.hosts()) {
        String other = hostOwner.putIfAbsent(host.toLowerCase(Locale.ROOT), file);
        if (other != null) {
          problems.add(file + ": field 'hosts': '" + host + "' is also a host of " + other);
        }
      }
    }
    checkIssuers(tenants, problems);
  }

  /** An issuer is one tenant's, unless every tenant sharing it reads the tenant from a claim. */
  private static void checkIssuers(List<Map.Entry<String, TenantConfig>> tenants, List<String> problems) {
    Map<String, List<Map.Entry<String, TenantConfig>>> byIssuer = new LinkedHashMap<>();
    for (var entry : tenants) {
      entry.getValue().auth().jwtSettings().ifPresent(jwt ->
          byIssuer.computeIfAbsent(jwt.issuer(), i -> new ArrayList<>()).add(entry));
    }
    byIssuer.forEach((issuer, sharing) -> {
      if (sharing.size() < 2) {
        return;
      }
      for (var entry : sharing) {
        if (entry.getValue().auth().jwt().tenantClaim() == null) {
          List<String> others = sharing.stream().filter(e -> e != entry).map(Map.Entry::getKey).toList();
          problems.add(entry.getKey() + ": field 'auth.jwt.issuer': '" + issuer + "' is also the issuer of "
              + String.join(", ", others) + "; tenants sharing an issuer must each name a tenant_claim");
        }
      }
    });
  }

  private static JsonSchema loadSchema() {
    try (InputStream in = TenantRegistry.class.getResourceAsStream("tenant.schema.json")) {
      JsonNode schema = Json.MAPPER.readTree(in);
      return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schema);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The set lookups answer now; hold it for a request or a rebuild that must see one set throughout. */
  public Snapshot snapshot() {
    return current.get();
  }

  /** Where this registry's files are read from again on a reload (empty: built in memory, cannot reload). */
  public Optional<Origin> origin() {
    return origin;
  }

  /** The version of the set lookups answer now (0 until a reload has been applied). */
  public long version() {
    return current.get().version();
  }

  /**
   * Makes {@code candidate}'s set (already checked) the one every new lookup answers, as
   * {@code version}: one reference swapped, so a request sees the old set or the new, never
   * a mix of lookups.
   */
  public void replace(TenantRegistry candidate, long version) {
    current.set(candidate.snapshot().withVersion(version));
  }

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public Optional<TenantConfig> byId(String id) {
    return current.get().byId(id);
  }

  /** The tenant and key a presented API key belongs to, by its SHA-256. */
  public Optional<KeyMatch> byKey(String presentedKey) {
    return current.get().byKey(presentedKey);
  }

  public Optional<TenantConfig> byHost(String host) {
    return current.get().byHost(host);
  }

  /** The tenants that trust JWTs of {@code issuer}: one, or several that each name a tenant claim. */
  public List<TenantConfig> byIssuer(String issuer) {
    return current.get().byIssuer(issuer);
  }

  /**
   * The keys a tenant's {@code jwks_file} gave at load, or where its HMAC secret lives
   * ({@code hmac_secret_env}, {@code hmac_secret_file}, {@code hmac_secret_aws}); none for a JWKS URL.
   */
  public Optional<JwtKeyMaterial> jwtKeys(String tenantId) {
    return current.get().jwtKeys(tenantId);
  }

  public List<TenantConfig> all() {
    return current.get().all();
  }
}
