package dev.atrium.gateway.budget;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.limits.Budgets;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.LocalProvider;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.Tokens;
import dev.atrium.gateway.usage.PriceTable;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.gateway.usage.UsageRecorder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The gateway's side of budgets: before a call goes upstream it holds the call's estimate
 * (the prompt's tokens plus its completion allowance, and what that costs on the dearest
 * step of its route) and sends the allowance upstream as the call's maximum, so no answer
 * can cost more than it held; when the call's usage record is taken it settles what the
 * call used. How budgets are kept is {@link Budgets}' business.
 */
public final class BudgetGate {
  /** The request fields that bound a completion, newest first. */
  private static final List<String> ALLOWANCE_FIELDS = List.of("max_completion_tokens", "max_tokens");

  private final Budgets budgets;
  private final TenantRegistry tenants;
  private final PriceTable prices;

  /** What a call may do once admitted: its route (without paid fallbacks if its spend could not be held) and options. */
  public record Admitted(ModelGateway.Route route, ObjectNode options) {}

  public BudgetGate(Budgets budgets, TenantRegistry tenants, PriceTable prices) {
    this.budgets = budgets;
    this.tenants = tenants;
    this.prices = prices;
  }

  /** Whether calls of this tenant are budgeted (else the gateway asks nothing). */
  public boolean applies(String tenantId) {
    return budgets.applies(tenantId);
  }

  /**
   * Every model a tenant with a spend cap routes to must have a price: the problems, one per
   * tenant and model, for the node to refuse at start (and a reload to refuse later).
   */
  public static List<String> unpricedUnderSpendCap(TenantRegistry tenants, Budgets budgets, PriceTable prices) {
    List<String> problems = new ArrayList<>();
    for (TenantConfig tenant : tenants.all()) {
      if (!budgets.capsSpend(tenant)) {
        continue;
      }
      tenant.models().models().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e -> {
        String upstream = e.getValue().upstreamModel() == null ? e.getKey() : e.getValue().upstreamModel();
        if (prices.priceOf(upstream).isEmpty()) {
          problems.add("tenant '" + tenant.id() + "' caps spend (budgets), but its model '" + e.getKey()
              + "' (upstream '" + upstream + "') has no price in " + PriceTable.PATH);
        }
      });
    }
    return problems;
  }

  /**
   * Holds the call's estimate; the stage fails with a 429 {@code budget_exceeded} when a
   * scope has no room, or, when the budgets cannot answer in time, with a 503 (or lets the
   * call go unheld, to be charged when it ends, if the tenant's
   * {@code on_limiter_unavailable} is {@code allow}).
   */
  public CompletionStage<Admitted> admit(ModelGateway.Route route, List<ChatMessage> messages, List<Passage> passages,
      ObjectNode options, UsageRecord.Call call) {
    UsageContext context = call.context();
    TenantConfig tenant = tenants.byId(context.tenantId()).orElseThrow();
    int allowance = allowance(options, budgets.defaultAllowance(tenant.id()));
    ObjectNode bounded = options == null ? Json.MAPPER.createObjectNode() : options.deepCopy();
    boolean named = false;
    for (String field : ALLOWANCE_FIELDS) {
      if (bounded.has(field)) {
        bounded.put(field, allowance);
        named = true;
      }
    }
    if (!named) {
      bounded.put("max_tokens", allowance);
    }
    int prompt = call.promptTokens() >= 0 ? call.promptTokens() : Tokens.countMessages(messages);
    if (!passages.isEmpty()) {
      prompt += Tokens.count(Passage.prompt(passages)) + Tokens.MESSAGE_OVERHEAD;
    }
    long micros = 0;
    for (ModelGateway.Attempt attempt : route.attempts()) {
      if (!attempt.byo() && !(attempt.provider() instanceof LocalProvider)) {
        micros = Math.max(micros, priceOf(attempt.upstreamModel(), prompt, allowance));
      }
    }
    Budgets.Scopes scopes = new Budgets.Scopes(tenant.id(), context.accountId(), context.keyId());
    Budgets.Estimate estimate = new Budgets.Estimate((long) prompt + allowance, micros, route.byo());
    return budgets.reserve(scopes, estimate).handle((reservation, error) -> {
      if (error != null) {
        if (tenant.onLimiterUnavailable() == TenantConfig.OnLimiterUnavailable.ALLOW) {
          return new Admitted(route, bounded);
        }
        throw new ApiError(StatusCodes.SERVICE_UNAVAILABLE, "budget_unavailable",
            "The budgets could not answer in time; try again.")
            .withHeader(RawHeader.create("Retry-After", "1"));
      }
      if (reservation instanceof Budgets.Denied denied) {
        throw exceeded(denied);
      }
      Budgets.Granted granted = (Budgets.Granted) reservation;
      call.reserved(granted);
      // A caller's key whose call could not hold the tenant's spend does not fall back to the tenant's provider.
      ModelGateway.Route admitted = route.byo() && !granted.spendHeld()
          ? new ModelGateway.Route(route.model(), List.of(route.attempts().get(0)))
          : route;
      return new Admitted(admitted, bounded);
    });
  }

  /** Releases what an unattempted call holds, if anything. */
  public void release(UsageRecord.Call call) {
    if (call.reservation() != null) {
      budgets.release(call.reservation());
    }
  }

  private long priceOf(String upstreamModel, int prompt, int allowance) {
    return prices.priceOf(upstreamModel).map(p -> p.micros(prompt, allowance, 0)).orElse(0L);
  }

  /** The request's own allowance (its max_completion_tokens, else max_tokens), else the tenant's default. */
  static int allowance(ObjectNode options, int defaultAllowance) {
    if (options != null) {
      for (String field : ALLOWANCE_FIELDS) {
        JsonNode value = options.get(field);
        if (value != null && !value.isNull()) {
          if (!value.canConvertToInt() || !value.isIntegralNumber() || value.intValue() < 1) {
            throw ApiError.badRequest("invalid_request", field + " must be a positive integer")
                .withExtension("param", field);
          }
          return value.intValue();
        }
      }
    }
    return defaultAllowance;
  }

  /** The 429 of a refused reservation: which scope, period and measure, and when it resets. */
  static ApiError exceeded(Budgets.Denied d) {
    long retryAfter = Math.max(1, Duration.between(Instant.now(), d.resetsAt()).toSeconds());
    String what = d.measure().equals("spend") ? "spend" : "token";
    return new ApiError(StatusCodes.TOO_MANY_REQUESTS, "budget_exceeded",
        "The " + (d.period().equals("day") ? "daily" : "monthly") + " " + what + " budget of " + d.scope()
            + " is used up; it resets at " + d.resetsAt() + ".")
        .withHeader(RawHeader.create("Retry-After", Long.toString(retryAfter)))
        .withExtension("scope", d.scope())
        .withExtension("period", d.period())
        .withExtension("measure", d.measure())
        .withExtension("resets_at", d.resetsAt().toString());
  }

  /**
   * The gateway's recorder: a record whose call held a reservation settles it with what the
   * call used; one that held none (an embedding, a call let through while budgets could not
   * answer) is charged. Cache hits cost the budgets nothing. Then the record goes on.
   */
  public UsageRecorder settling(UsageRecorder next) {
    return record -> {
      if (!record.cacheHit() && (record.reservation() != null || budgets.applies(record.context().tenantId()))) {
        UsageContext c = record.context();
        long micros = c.byo() ? 0 : prices.priceOf(record.upstreamModel())
            .map(p -> p.micros(record.tokensIn(), record.tokensOut(), record.cachedTokensIn(),
                record.cacheWriteTokensIn())).orElse(0L);
        var actual = new Budgets.Actual((long) record.tokensIn() + record.tokensOut(), micros, record.at());
        if (record.reservation() != null) {
          budgets.settle(record.reservation(), actual);
        } else {
          budgets.charge(new Budgets.Scopes(c.tenantId(), c.accountId(), c.keyId()), actual);
        }
      }
      return next.record(record);
    };
  }
}
