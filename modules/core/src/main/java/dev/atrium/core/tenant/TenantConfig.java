package dev.atrium.core.tenant;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One tenant, as read from {@code tenants/<id>.json} and validated against
 * {@code tenant.schema.json}. Optional sections take the defaults of their compact
 * constructors, so code never meets a null collection.
 */
public record TenantConfig(
    String id,
    String displayName,
    List<String> hosts,
    List<ApiKeyConfig> apiKeys,
    Auth auth,
    ModelSettings models,
    Map<RouteClass, RouteLimit> rateLimits,
    Set<RouteClass> anonymousRouteClasses,
    Cors cors,
    Features features,
    Limits limits,
    Sessions sessions,
    OnLimiterUnavailable onLimiterUnavailable,
    StreamSlots streamSlots,
    List<String> trustedProxies,
    Runs runs,
    Documents documents,
    Byok byok,
    BudgetSettings budgets,
    ResponseCache responseCache,
    Guardrails guardrails) {

  public TenantConfig {
    hosts = hosts == null ? List.of() : List.copyOf(hosts);
    apiKeys = apiKeys == null ? List.of() : List.copyOf(apiKeys);
    auth = auth == null ? Auth.NONE : auth;
    models = models == null ? ModelSettings.LOCAL_ONLY : models;
    rateLimits = rateLimits == null ? Map.of() : Map.copyOf(rateLimits);
    anonymousRouteClasses = anonymousRouteClasses == null ? Set.of() : Set.copyOf(anonymousRouteClasses);
    cors = cors == null ? new Cors(List.of()) : cors;
    features = features == null ? Features.DEFAULTS : features;
    limits = limits == null ? Limits.DEFAULTS : limits;
    sessions = sessions == null ? Sessions.DEFAULTS : sessions;
    onLimiterUnavailable = onLimiterUnavailable == null ? OnLimiterUnavailable.DENY : onLimiterUnavailable;
    streamSlots = streamSlots == null ? StreamSlots.DEFAULTS : streamSlots;
    trustedProxies = trustedProxies == null ? List.of() : List.copyOf(trustedProxies);
    runs = runs == null ? Runs.DEFAULTS : runs;
    documents = documents == null ? Documents.DEFAULTS : documents;
    byok = byok == null ? Byok.NONE : byok;
    budgets = budgets == null ? BudgetSettings.NONE : budgets;
    responseCache = responseCache == null ? ResponseCache.DEFAULTS : responseCache;
    guardrails = guardrails == null ? Guardrails.NONE : guardrails;
  }

  /**
   * The longest prompt (in characters) a request of {@code routeClass} and {@code tier} may
   * send: the most specific {@code guardrails.prompt_chars} entry (class and tier, then
   * class, then tier), else {@code limits.max_prompt_chars}. The one place that decides it:
   * every door's check (413 on chat, 400 on search) asks here.
   */
  public int maxPromptChars(RouteClass routeClass, Tier tier) {
    PromptChars best = null;
    int bestRank = -1;
    for (PromptChars entry : guardrails.promptChars()) {
      boolean classFits = entry.routeClass() == null || entry.routeClass() == routeClass;
      boolean tierFits = entry.tier() == null || entry.tier() == tier;
      int rank = (entry.routeClass() != null ? 2 : 0) + (entry.tier() != null ? 1 : 0);
      if (classFits && tierFits && rank > bestRank) {
        best = entry;
        bestRank = rank;
      }
    }
    return best != null ? best.max() : limits.maxPromptChars();
  }

  /** The trusted proxies as networks (validated when the file is loaded). */
  public List<dev.atrium.core.limits.ClientAddress.Cidr> trustedProxyNetworks() {
    return trustedProxies.stream().map(dev.atrium.core.limits.ClientAddress.Cidr::parse).toList();
  }

  public boolean allowsAnonymous(RouteClass routeClass) {
    return anonymousRouteClasses.contains(routeClass);
  }

  /** The bucket for a route class and tier: the class's own entry, else 'default', else built-in. */
  public Bucket bucketFor(RouteClass routeClass, Tier tier) {
    return Optional.ofNullable(rateLimits.get(routeClass))
        .or(() -> Optional.ofNullable(rateLimits.get(RouteClass.DEFAULT)))
        .map(limit -> limit.forTier(tier))
        .orElseGet(() -> RouteLimit.BUILT_IN.forTier(tier));
  }

  public record ApiKeyConfig(
      String id, String label, String sha256, Tier tier, String account, boolean development) {
    public ApiKeyConfig {
      label = label == null ? "" : label;
    }

    public Optional<String> accountId() {
      return Optional.ofNullable(account);
    }
  }

  /** How callers other than API keys authenticate: today a JWT issuer ({@code auth.jwt}), or nothing. */
  public record Auth(Jwt jwt) {
    static final Auth NONE = new Auth(null);

    public Optional<Jwt> jwtSettings() {
      return Optional.ofNullable(jwt);
    }
  }

  /**
   * The tenant's JWT issuer (docs/tenancy.md#jwt-authentication). Keys come from exactly one
   * of {@code jwksUrl}, {@code jwksFile}, {@code hmacSecretEnv}, {@code hmacSecretFile} or
   * {@code hmacSecretAws} (checked when the file is loaded, with the JWKS file, the secret file
   * and the variable read then; a secret file or Secrets Manager secret is re-read when its
   * cached value expires, so it rotates without a restart).
   *
   * @param audience accepted {@code aud} values; empty: any (a string in the file is a one-element list)
   * @param algorithms accepted {@code alg}s: {@link #DEFAULT_ALGORITHMS} for key sets, HS256 for a secret
   * @param defaultTier the tier of a token without the tier claim; null: such a token is refused
   * @param tenantClaim for an issuer several tenants share: the claim that names the tenant
   * @param jwksMinRefreshSeconds the least time between two fetches of the JWKS URL (a flood of
   *     unknown {@code kid}s must not hammer the issuer)
   * @param jwksCacheSeconds how long fetched keys are used before they are fetched again
   */
  public record Jwt(
      String issuer,
      @com.fasterxml.jackson.annotation.JsonFormat(
          with = com.fasterxml.jackson.annotation.JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
      List<String> audience,
      String jwksUrl, String jwksFile, String hmacSecretEnv, List<String> algorithms, JwtClaims claims,
      Tier defaultTier, String tenantClaim, Integer jwksMinRefreshSeconds, Integer jwksCacheSeconds,
      String hmacSecretFile, AwsSecret hmacSecretAws) {
    public static final List<String> DEFAULT_ALGORITHMS = List.of("RS256", "ES256", "EdDSA");

    public Jwt {
      audience = audience == null ? List.of() : List.copyOf(audience);
      algorithms = algorithms == null || algorithms.isEmpty()
          ? (hmacSecretEnv != null || hmacSecretFile != null || hmacSecretAws != null ? List.of("HS256") : DEFAULT_ALGORITHMS)
          : List.copyOf(algorithms);
      claims = claims == null ? JwtClaims.DEFAULTS : claims;
      jwksMinRefreshSeconds = jwksMinRefreshSeconds == null ? 30 : jwksMinRefreshSeconds;
      jwksCacheSeconds = jwksCacheSeconds == null ? 600 : jwksCacheSeconds;
    }

    /** Whether the keys are an HMAC secret ({@code hmac_secret_env}, {@code hmac_secret_file} or {@code hmac_secret_aws}). */
    public boolean hmacSecret() {
      return hmacSecretEnv != null || hmacSecretFile != null || hmacSecretAws != null;
    }

    /**
     * Where the HMAC secret lives, when there is exactly one place: a relative
     * {@code hmac_secret_file} is resolved against {@code dir} (the tenants directory).
     */
    public Optional<dev.atrium.core.secrets.SecretRef> hmacSecretRef(java.nio.file.Path dir) {
      long places = java.util.stream.Stream.of(hmacSecretEnv, hmacSecretFile, hmacSecretAws)
          .filter(java.util.Objects::nonNull).count();
      if (places != 1 || jwksUrl != null || jwksFile != null) {
        return Optional.empty();
      }
      if (hmacSecretEnv != null) {
        return Optional.of(dev.atrium.core.secrets.SecretRef.env(hmacSecretEnv));
      }
      if (hmacSecretFile != null) {
        return Optional.of(dev.atrium.core.secrets.SecretRef.file(dir.resolve(hmacSecretFile).toString()));
      }
      return Optional.of(hmacSecretAws.ref());
    }

    public Optional<String> tenantClaimName() {
      return Optional.ofNullable(tenantClaim);
    }
  }

  /** The claim names a token's user, tier and account(s) are read from. */
  public record JwtClaims(String user, String tier, String account, String accounts) {
    static final JwtClaims DEFAULTS = new JwtClaims(null, null, null, null);

    public JwtClaims {
      user = user == null ? "sub" : user;
      tier = tier == null ? "tier" : tier;
      account = account == null ? "account_id" : account;
      accounts = accounts == null ? "accounts" : accounts;
    }
  }

  /**
   * @param tasks a model per task over {@code defaultModel} ({@link ModelTask}); none by default
   * @param allowed the models a request may name; empty: every one of {@code models}. Tasks
   *     and fallbacks may route to models outside it (a cheap model kept for light work).
   */
  public record ModelSettings(
      String defaultModel, Map<String, ModelRoute> models, Map<String, ProviderSettings> providers,
      Map<ModelTask, String> tasks, List<String> allowed) {
    static final ModelSettings LOCAL_ONLY =
        new ModelSettings(
            "local",
            Map.of("local", new ModelRoute("local", null, List.of())),
            Map.of("local", new ProviderSettings(ProviderType.LOCAL, null, null, null, null)), null, null);

    public ModelSettings {
      models = models == null || models.isEmpty() ? LOCAL_ONLY.models() : Map.copyOf(models);
      providers = providers == null || providers.isEmpty() ? LOCAL_ONLY.providers() : Map.copyOf(providers);
      defaultModel = defaultModel == null ? models.keySet().stream().sorted().findFirst().orElse("local") : defaultModel;
      tasks = tasks == null ? Map.of() : Map.copyOf(tasks);
      allowed = allowed == null ? List.of() : List.copyOf(allowed);
    }

    /** The model {@code task} uses when the request names none: its pin, else the default. */
    public String modelFor(ModelTask task) {
      return tasks.getOrDefault(task, defaultModel);
    }

    /** Whether a request may name {@code model}: one of the tenant's models, and in {@code allowed} when that is set. */
    public boolean allows(String model) {
      return models.containsKey(model) && (allowed.isEmpty() || allowed.contains(model));
    }

    /** The models a request may name, sorted. */
    public List<String> requestable() {
      return (allowed.isEmpty() ? models.keySet().stream() : allowed.stream()).sorted().toList();
    }
  }

  public record ModelRoute(String provider, String upstreamModel, List<String> fallbacks) {
    public ModelRoute {
      fallbacks = fallbacks == null ? List.of() : List.copyOf(fallbacks);
    }
  }

  public enum ProviderType {
    @com.fasterxml.jackson.annotation.JsonProperty("local") LOCAL,
    @com.fasterxml.jackson.annotation.JsonProperty("openai") OPENAI,
    /** Anthropic's Messages API ({@code POST {base_url}/v1/messages}). */
    @com.fasterxml.jackson.annotation.JsonProperty("anthropic") ANTHROPIC
  }

  /**
   * A provider of the tenant's models. {@code anthropicVersion}: the {@code anthropic-version}
   * header an anthropic provider sends ({@value #DEFAULT_ANTHROPIC_VERSION} when left out);
   * other types ignore it.
   */
  public record ProviderSettings(
      ProviderType type, String baseUrl, String apiKeyEnv, Integer timeoutMs, Integer maxRetries,
      String anthropicVersion, String apiKeyFile, AwsSecret apiKeySecret) {
    public static final String DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

    public ProviderSettings {
      timeoutMs = timeoutMs == null ? 60_000 : timeoutMs;
      maxRetries = maxRetries == null ? 2 : maxRetries;
      anthropicVersion = anthropicVersion == null ? DEFAULT_ANTHROPIC_VERSION : anthropicVersion;
    }

    /** Settings without an Anthropic API version (the default's). */
    public ProviderSettings(ProviderType type, String baseUrl, String apiKeyEnv, Integer timeoutMs, Integer maxRetries) {
      this(type, baseUrl, apiKeyEnv, timeoutMs, maxRetries, null, null, null);
    }

    /**
     * Where the provider's key lives: {@code api_key_env}, {@code api_key_file} or
     * {@code api_key_secret} (at most one, checked at load), or empty for none.
     */
    public java.util.Optional<dev.atrium.core.secrets.SecretRef> apiKey() {
      if (apiKeyEnv != null) {
        return java.util.Optional.of(dev.atrium.core.secrets.SecretRef.env(apiKeyEnv));
      }
      if (apiKeyFile != null) {
        return java.util.Optional.of(dev.atrium.core.secrets.SecretRef.file(apiKeyFile));
      }
      return java.util.Optional.ofNullable(apiKeySecret).map(AwsSecret::ref);
    }
  }

  /** An AWS Secrets Manager secret by name, or one string field of its JSON value. */
  public record AwsSecret(String name, String field) {
    public dev.atrium.core.secrets.SecretRef ref() {
      return dev.atrium.core.secrets.SecretRef.awsSecret(name, field);
    }
  }

  public record RouteLimit(Bucket free, Bucket paid) {
    static final RouteLimit BUILT_IN = new RouteLimit(new Bucket(20, 20.0 / 60), new Bucket(120, 2.0));

    public Bucket forTier(Tier tier) {
      Bucket b = tier == Tier.PAID ? paid : free;
      return b != null ? b : BUILT_IN.forTier(tier);
    }
  }

  /** A token bucket: {@code capacity} is the burst, {@code refillPerSecond} the sustained rate. */
  public record Bucket(int capacity, double refillPerSecond) {}

  public record Cors(List<String> allowedOrigins) {
    public Cors {
      allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
    }
  }

  /**
   * Feature switches. {@code statelessRagSplit}: FREE callers of {@code POST /v1/repos/ask}
   * are answered in memory from the archive they send (nothing stored); off, they are
   * refused there as on every other route that stores data.
   */
  public record Features(
      Boolean rag, Boolean tools, Boolean runs, Boolean speech, Boolean byok, Boolean responseCache,
      Boolean statelessRagSplit) {
    static final Features DEFAULTS = new Features(null, null, null, null, null, null, null);

    public Features {
      rag = rag == null || rag;
      tools = tools == null || tools;
      runs = runs == null || runs;
      speech = speech != null && speech;
      byok = byok != null && byok;
      responseCache = responseCache != null && responseCache;
      statelessRagSplit = statelessRagSplit != null && statelessRagSplit;
    }
  }

  public record Limits(Long maxRequestBytes, Integer maxPromptChars) {
    static final Limits DEFAULTS = new Limits(null, null);

    public Limits {
      maxRequestBytes = maxRequestBytes == null ? 1_048_576L : maxRequestBytes;
      maxPromptChars = maxPromptChars == null ? 32_000 : maxPromptChars;
    }
  }

  /** Chat session retention: the prompt's context window, history kept, idle expiry. */
  public record Sessions(Integer contextWindowTokens, Integer maxHistoryMessages, Integer idleExpiryDays) {
    static final Sessions DEFAULTS = new Sessions(null, null, null);

    public Sessions {
      contextWindowTokens = contextWindowTokens == null ? 8192 : contextWindowTokens;
      maxHistoryMessages = maxHistoryMessages == null ? 200 : maxHistoryMessages;
      idleExpiryDays = idleExpiryDays == null ? 30 : idleExpiryDays;
    }
  }

  /** What a request gets when the rate limiter cannot answer in time. */
  public enum OnLimiterUnavailable {
    @com.fasterxml.jackson.annotation.JsonProperty("deny") DENY,
    @com.fasterxml.jackson.annotation.JsonProperty("allow") ALLOW
  }

  /** Concurrent open streams, cluster-wide: per client key (or address) and per tenant. */
  public record StreamSlots(Integer perClient, Integer perTenant) {
    static final StreamSlots DEFAULTS = new StreamSlots(null, null);

    public StreamSlots {
      perClient = perClient == null ? 4 : perClient;
      perTenant = perTenant == null ? 64 : perTenant;
    }
  }

  /**
   * Long-running jobs: how many upstream calls one run makes at once, and how many of the
   * tenant's runs run at once across the cluster (the rest wait queued).
   */
  public record Runs(Integer maxConcurrency, Integer maxRunning) {
    static final Runs DEFAULTS = new Runs(null, null);

    public Runs {
      maxConcurrency = maxConcurrency == null ? 10 : maxConcurrency;
      maxRunning = maxRunning == null ? 16 : maxRunning;
    }
  }

  /**
   * Documents: size and count limits, chunking, and the embedder; and the repository
   * questions of {@code POST /v1/repos/ask}: how much of an archive a FREE (stateless) answer
   * reads ({@code statelessMaxChars}, the most a request's {@code max_chars} may ask), how
   * long a PAID repository's documents live ({@code repoTtlDays}), and whether a PAID
   * question reads the repository as the tenant's or only as its own user's
   * ({@code repoScope}).
   */
  public record Documents(Long maxDocumentBytes, Long maxArchiveBytes, Integer maxArchiveFiles, Integer maxDocuments,
      Integer chunkTokens, Integer chunkOverlapTokens, String embedder, String embeddingModel, Boolean chatRetrieval,
      Integer statelessMaxChars, Integer repoTtlDays, RepoScope repoScope) {
    static final Documents DEFAULTS = new Documents(null, null, null, null, null, null, null, null, null, null, null,
        null);

    public Documents {
      maxDocumentBytes = maxDocumentBytes == null ? 10L * 1024 * 1024 : maxDocumentBytes;
      maxArchiveBytes = maxArchiveBytes == null ? 50L * 1024 * 1024 : maxArchiveBytes;
      maxArchiveFiles = maxArchiveFiles == null ? 2_000 : maxArchiveFiles;
      maxDocuments = maxDocuments == null ? 10_000 : maxDocuments;
      chunkTokens = chunkTokens == null ? 256 : chunkTokens;
      chunkOverlapTokens = chunkOverlapTokens == null ? 32 : chunkOverlapTokens;
      embedder = embedder == null ? "local" : embedder;
      chatRetrieval = chatRetrieval != null && chatRetrieval;
      statelessMaxChars = statelessMaxChars == null ? 40_000 : statelessMaxChars;
      repoTtlDays = repoTtlDays == null ? 30 : repoTtlDays;
      repoScope = repoScope == null ? RepoScope.TENANT : repoScope;
    }
  }

  /**
   * Whose a PAID repository question reads: every document of the repository name in the
   * tenant ({@code tenant}), or only those its own user (else key) ingested ({@code user}).
   */
  public enum RepoScope {
    @com.fasterxml.jackson.annotation.JsonProperty("tenant") TENANT,
    @com.fasterxml.jackson.annotation.JsonProperty("user") USER
  }

  /**
   * Bring-your-own provider keys (with feature {@code byok}): which of the tenant's providers
   * a caller's key of each family (openai, anthropic, ...) is sent to, in place of the
   * provider's own key, for that call only.
   */
  public record Byok(Map<String, String> providers) {
    static final Byok NONE = new Byok(null);

    public Byok {
      providers = providers == null ? Map.of() : Map.copyOf(providers);
    }
  }

  /**
   * Caps on what the tenant's model calls use (tokens) and cost (spend, USD), per UTC day
   * and month: for the tenant as a whole, for each account ({@code per_account}, or the
   * account's own entry in {@code accounts}) and for each key ({@code per_key}, or
   * {@code keys}). A call is refused once what is settled and held would pass a cap times
   * its hard-limit ratio. {@code default_max_tokens}: the completion allowance of a call
   * that asks for none, sent upstream as its maximum.
   */
  public record BudgetSettings(Double hardLimitRatio, Integer defaultMaxTokens, Caps tenant, Caps perAccount,
      Caps perKey, Map<String, Caps> accounts, Map<String, Caps> keys) {
    static final BudgetSettings NONE = new BudgetSettings(null, null, null, null, null, null, null);

    public BudgetSettings {
      hardLimitRatio = hardLimitRatio == null ? 0.9 : hardLimitRatio;
      defaultMaxTokens = defaultMaxTokens == null ? 1024 : defaultMaxTokens;
      accounts = accounts == null ? Map.of() : Map.copyOf(accounts);
      keys = keys == null ? Map.of() : Map.copyOf(keys);
    }

    /** The caps of the tenant as a whole, if any. */
    public Optional<Caps> forTenant() {
      return Optional.ofNullable(tenant).filter(Caps::any);
    }

    /** The caps of an account: its own entry, else {@code per_account}. */
    public Optional<Caps> forAccount(String accountId) {
      return Optional.ofNullable(accounts.get(accountId)).or(() -> Optional.ofNullable(perAccount)).filter(Caps::any);
    }

    /** The caps of a key: its own entry, else {@code per_key}. */
    public Optional<Caps> forKey(String keyId) {
      return Optional.ofNullable(keys.get(keyId)).or(() -> Optional.ofNullable(perKey)).filter(Caps::any);
    }

    /** Any cap at all. */
    public boolean any() {
      if (has(tenant, false) || has(perAccount, false) || has(perKey, false)) {
        return true;
      }
      return accounts.values().stream().anyMatch(Caps::any) || keys.values().stream().anyMatch(Caps::any);
    }

    /** Any cap on spend. */
    public boolean capsSpend() {
      if (has(tenant, true) || has(perAccount, true) || has(perKey, true)) {
        return true;
      }
      return accounts.values().stream().anyMatch(Caps::capsSpend) || keys.values().stream().anyMatch(Caps::capsSpend);
    }

    private static boolean has(Caps caps, boolean spend) {
      return caps != null && (spend ? caps.capsSpend() : caps.any());
    }
  }

  /** One scope's caps; null: no cap. {@code hard_limit_ratio} overrides the budgets' own. */
  public record Caps(Long dailyTokens, Long monthlyTokens, Double dailySpendUsd, Double monthlySpendUsd,
      Double hardLimitRatio) {
    public boolean any() {
      return dailyTokens != null || monthlyTokens != null || capsSpend();
    }

    public boolean capsSpend() {
      return dailySpendUsd != null || monthlySpendUsd != null;
    }
  }

  /**
   * The response cache (with feature {@code response_cache}): how long an answer is served
   * again to the same request of this tenant, from any node.
   */
  public record ResponseCache(Integer ttlSeconds) {
    static final ResponseCache DEFAULTS = new ResponseCache(null);

    public ResponseCache {
      ttlSeconds = ttlSeconds == null ? 3600 : ttlSeconds;
    }
  }

  /**
   * Safety filters on the tenant's model calls (docs/tenancy.md#guardrails): prompt-length
   * overrides ({@link #maxPromptChars}), blocklists on input and output, PII redaction.
   */
  public record Guardrails(List<PromptChars> promptChars, List<BlockRule> blocklists, Pii pii) {
    static final Guardrails NONE = new Guardrails(null, null, null);

    public Guardrails {
      promptChars = promptChars == null ? List.of() : List.copyOf(promptChars);
      blocklists = blocklists == null ? List.of() : List.copyOf(blocklists);
    }

    /** Whether anything looks at a call's messages before it goes upstream. */
    public boolean screensInput() {
      return blocklists.stream().anyMatch(r -> r.applyTo().contains(Direction.INPUT)) || pii != null && pii.input();
    }

    /** Whether anything looks at a call's answer. */
    public boolean screensOutput() {
      return blocklists.stream().anyMatch(r -> r.applyTo().contains(Direction.OUTPUT)) || pii != null && pii.output();
    }
  }

  /** A prompt-length override for a route class, a tier, or both (null: any). */
  public record PromptChars(RouteClass routeClass, Tier tier, int max) {}

  /** Where a guardrail looks: the messages sent, or the answer. */
  public enum Direction {
    @com.fasterxml.jackson.annotation.JsonProperty("input") INPUT,
    @com.fasterxml.jackson.annotation.JsonProperty("output") OUTPUT;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A blocklist rule: its reason {@code code} (what a refusal, the metrics and the usage row
   * say; never the matched text), literal {@code terms} (whole words, case-insensitive),
   * regular-expression {@code patterns} (case-insensitive), and where it applies (default both).
   */
  public record BlockRule(String code, List<String> terms, List<String> patterns, Set<Direction> applyTo) {
    public BlockRule {
      terms = terms == null ? List.of() : List.copyOf(terms);
      patterns = patterns == null ? List.of() : List.copyOf(patterns);
      applyTo = applyTo == null || applyTo.isEmpty() ? Set.of(Direction.INPUT, Direction.OUTPUT) : Set.copyOf(applyTo);
    }
  }

  /**
   * PII redaction: the redactor by name ({@code pattern}, built in), the kinds it redacts
   * (default all of the built-in's: email, phone, card, iban), on input (default) and on output.
   */
  public record Pii(String redactor, List<String> kinds, Boolean input, Boolean output) {
    public static final List<String> BUILT_IN_KINDS = List.of("email", "phone", "card", "iban");

    public Pii {
      redactor = redactor == null ? "pattern" : redactor;
      kinds = kinds == null ? BUILT_IN_KINDS : List.copyOf(kinds);
      input = input == null || input;
      output = output != null && output;
    }
  }
}
