package dev.atrium.gateway.usage;

import dev.atrium.core.limits.Budgets;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.Tokens;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.cache.CacheDirective;
import dev.atrium.gateway.cache.CacheStatus;
import java.time.Instant;
import java.util.List;

/**
 * One model call as it is metered ({@code usage_events}, migration V12): for whom
 * ({@link UsageContext}), what ({@code operation}: chat, embedding, query_embedding, search_rewrite, ...), which
 * provider and model, the tokens (the provider's figures, or counted with the tokenizer when
 * it gave none), other media units, latency to the first token and in total, and how it
 * ended. The cost is filled in by the recorder from the price table, off the request path.
 * {@code reservation}: what the call held of its budgets (null: it held nothing), settled by
 * the gateway's recorder when the record is taken; never written to the table.
 * {@code tokensIn} is the whole prompt; {@code cachedTokensIn} the part of it read from the
 * provider's prompt cache, {@code cacheWriteTokensIn} the part written to it (Anthropic's
 * cache writes, migration V15), each priced apart ({@link PriceTable}).
 * {@code guardrails}: what the tenant's guardrails decided for the call
 * ({@code block:input:<rule>}, {@code redact:output:<kind>}, ...; migration V16), never the text.
 */
public record UsageRecord(Instant at, UsageContext context, String operation, String provider, String model,
    String upstreamModel, int tokensIn, int tokensOut, int cachedTokensIn, int cacheWriteTokensIn,
    boolean tokensCounted, String unitIn, Long unitsIn, String unitOut, Double unitsOut, Long costMicroUsd,
    Integer firstTokenMs, int totalMs, UsageStatus status, boolean cacheHit, Budgets.Granted reservation,
    List<String> guardrails) {

  public UsageRecord {
    guardrails = guardrails == null ? List.of() : List.copyOf(guardrails);
  }

  /** A record without guardrail decisions. */
  public UsageRecord(Instant at, UsageContext context, String operation, String provider, String model,
      String upstreamModel, int tokensIn, int tokensOut, int cachedTokensIn, int cacheWriteTokensIn,
      boolean tokensCounted, String unitIn, Long unitsIn, String unitOut, Double unitsOut, Long costMicroUsd,
      Integer firstTokenMs, int totalMs, UsageStatus status, boolean cacheHit, Budgets.Granted reservation) {
    this(at, context, operation, provider, model, upstreamModel, tokensIn, tokensOut, cachedTokensIn,
        cacheWriteTokensIn, tokensCounted, unitIn, unitsIn, unitOut, unitsOut, costMicroUsd, firstTokenMs, totalMs,
        status, cacheHit, reservation, List.of());
  }

  /** A record without prompt-cache writes. */
  public UsageRecord(Instant at, UsageContext context, String operation, String provider, String model,
      String upstreamModel, int tokensIn, int tokensOut, int cachedTokensIn, boolean tokensCounted, String unitIn,
      Long unitsIn, String unitOut, Double unitsOut, Long costMicroUsd, Integer firstTokenMs, int totalMs,
      UsageStatus status, boolean cacheHit, Budgets.Granted reservation) {
    this(at, context, operation, provider, model, upstreamModel, tokensIn, tokensOut, cachedTokensIn, 0, tokensCounted,
        unitIn, unitsIn, unitOut, unitsOut, costMicroUsd, firstTokenMs, totalMs, status, cacheHit, reservation);
  }

  public static final String CHAT = "chat";
  public static final String EMBEDDING = "embedding";
  /** The query of a retrieval (search, chat), embedded to find passages: beside the calls it serves. */
  public static final String QUERY_EMBEDDING = "query_embedding";
  public static final String SEARCH_REWRITE = "search_rewrite";
  public static final String SEARCH_ANSWER = "search_answer";
  public static final String SEARCH_FOLLOW_UPS = "search_follow_ups";
  public static final String RUN_PROMPT = "run_prompt";
  /**
   * The answer to a repository question ({@code POST /v1/repos/ask}): from the archive's text
   * in memory for a FREE caller (the stateless path), from the repository's retrieved
   * passages for a PAID one.
   */
  public static final String REPO_ANSWER = "repo_answer";

  UsageRecord withCost(Long micros) {
    return new UsageRecord(at, context, operation, provider, model, upstreamModel, tokensIn, tokensOut, cachedTokensIn,
        cacheWriteTokensIn, tokensCounted, unitIn, unitsIn, unitOut, unitsOut, micros, firstTokenMs, totalMs, status, cacheHit, reservation,
        guardrails);
  }

  /** A call to the first provider of {@code route}, starting now. */
  public static Call start(UsageContext context, String operation, ModelGateway.Route route) {
    ModelGateway.Attempt first = route.attempts().get(0);
    return new Call(context, operation, first.provider().label(), first.model(), first.upstreamModel());
  }

  /** A call to {@code provider}'s {@code upstreamModel} (asked for as {@code model}), starting now. */
  public static Call start(UsageContext context, String operation, String provider, String model,
      String upstreamModel) {
    return new Call(context, operation, provider, model, upstreamModel);
  }

  /**
   * A call in flight: it knows when it started and when its first token came, and becomes
   * a {@link UsageRecord} when it ends. Marking the first token is one volatile read when
   * marked already. It also carries the response cache's part of the call: what the client
   * asked of the cache ({@link #cacheDirective}, from its {@code cache-control} header) and
   * what the cache did ({@link #cacheStatus}: a hit is metered with {@code cache_hit} and cost 0).
   */
  public static final class Call {
    private final Instant at = Instant.now();
    private final long started = System.nanoTime();
    private final UsageContext context;
    private final String operation;
    private volatile String provider;
    private volatile String model;
    private volatile String upstreamModel;
    private volatile long firstToken;
    private volatile boolean byo;
    private volatile Budgets.Granted reservation;
    private volatile int promptTokens = -1;
    private volatile boolean attempted;
    private volatile CacheDirective cacheDirective = CacheDirective.USE;
    private volatile CacheStatus cacheStatus = CacheStatus.NOT_ELIGIBLE;
    /** The guardrails' decisions, each once; null until the first (most calls have none). */
    private List<String> guardrails;

    private Call(UsageContext context, String operation, String provider, String model, String upstreamModel) {
      this.context = context;
      this.operation = operation;
      this.provider = provider;
      this.model = model;
      this.upstreamModel = upstreamModel;
      this.byo = context.byo();
    }

    /** The gateway makes this attempt (a retry, a fallback): the call is metered for the last one made. */
    public void servedBy(ModelGateway.Attempt attempt) {
      attempted = true;
      provider = attempt.provider().label();
      model = attempt.model();
      upstreamModel = attempt.upstreamModel();
      byo = attempt.byo();
    }

    /** The gateway holds {@code granted} of the call's budgets: settled when the call's record is taken. */
    public void reserved(Budgets.Granted granted) {
      reservation = granted;
    }

    /** What the call holds of its budgets, or null. */
    public Budgets.Granted reservation() {
      return reservation;
    }

    /** The call's budget context: tenant, account, key, and whether the caller's key pays. */
    public UsageContext context() {
      return context;
    }

    /**
     * The prompt's tokens as the caller counted them already (a session counts each message
     * once), so the gateway's estimate need not count them again; passages excluded.
     */
    public void promptTokens(int tokens) {
      promptTokens = tokens;
    }

    /** The prompt's tokens as the caller counted them, or -1. */
    public int promptTokens() {
      return promptTokens;
    }

    /**
     * The gateway made an attempt (a provider was asked) or answered from the response
     * cache: false for a call refused before it went anywhere (its budget had no room),
     * which is no model call and is not metered.
     */
    public boolean attempted() {
      return attempted || cacheStatus == CacheStatus.HIT;
    }

    /** What the client asked of the response cache (its {@code cache-control} header); {@link CacheDirective#USE} unless told. */
    public void cacheDirective(CacheDirective directive) {
      cacheDirective = directive;
    }

    public CacheDirective cacheDirective() {
      return cacheDirective;
    }

    /** What the response cache did for the call: set by the cache before the answer's first event. */
    public void cacheStatus(CacheStatus status) {
      cacheStatus = status;
    }

    public CacheStatus cacheStatus() {
      return cacheStatus;
    }

    /** A guardrail decided {@code decision} for the call; false when it had already (it is recorded once). */
    public synchronized boolean guardrail(String decision) {
      if (guardrails == null) {
        guardrails = new java.util.ArrayList<>(2);
      } else if (guardrails.contains(decision)) {
        return false;
      }
      guardrails.add(decision);
      return true;
    }

    /** The guardrails' decisions so far, in the order they were made. */
    public synchronized List<String> guardrails() {
      return guardrails == null ? List.of() : List.copyOf(guardrails);
    }

    /** The attempt made last ran on the caller's own provider key. */
    public boolean byo() {
      return byo;
    }

    /** The first piece of the answer arrived (later calls change nothing). */
    public void firstToken() {
      if (firstToken == 0) {
        firstToken = Math.max(1, System.nanoTime() - started);
      }
    }

    /**
     * The call ended now with {@code usage}; {@code counted}: the tokens were counted here
     * (the provider reported none). A call that never marked its first token but returned
     * one ({@code tokensOut > 0}, a whole answer) got it at its end.
     */
    public UsageRecord end(UsageStatus status, ChatEvent.Usage usage, boolean counted) {
      long total = System.nanoTime() - started;
      long first = firstToken != 0 ? firstToken : usage.completionTokens() > 0 ? total : -1;
      return new UsageRecord(at, byo == context.byo() ? context : context.withByo(byo), operation, provider, model, upstreamModel, usage.promptTokens(),
          usage.completionTokens(), usage.cachedPromptTokens(), usage.cacheWritePromptTokens(), counted, null, null, null, null, null,
          first < 0 ? null : millis(first), millis(total), status, cacheStatus == CacheStatus.HIT, reservation,
          guardrails());
    }

    /**
     * The call ended now: with the provider's {@code reported} usage, or, when it reported
     * none (null), with the tokens of {@code prompt} and {@code answer} counted here.
     */
    public UsageRecord end(UsageStatus status, ChatEvent.Usage reported, List<ChatMessage> prompt, String answer) {
      return reported != null ? end(status, reported, false)
          : end(status, new ChatEvent.Usage(Tokens.countMessages(prompt), Tokens.count(answer)), true);
    }

    private static int millis(long nanos) {
      return (int) Math.min(Integer.MAX_VALUE, Math.round(nanos / 1e6));
    }
  }
}
