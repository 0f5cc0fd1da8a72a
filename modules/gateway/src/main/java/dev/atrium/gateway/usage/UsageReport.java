package dev.atrium.gateway.usage;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.atrium.core.http.ApiError;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What {@code GET /v1/usage} and {@code GET /admin/tenants/{t}/usage} answer: the figures of
 * the days {@code from} through {@code to} (UTC, inclusive), one row per day, model or key,
 * and their totals. {@code account_id} is there when the figures are one account's.
 */
public record UsageReport(LocalDate from, LocalDate to, String groupBy, String accountId, List<Row> rows,
    Figures totals) {

  // Four-digit years only: LocalDate.parse also takes "+99999-01-01".
  private static final Pattern DATE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");

  /** The longest range a report covers. */
  static final int MAX_DAYS = 366;
  /** The range without {@code from} and {@code to}: the last 30 days, today included. */
  static final int DEFAULT_DAYS = 30;

  /**
   * The figures of a group: requests, tokens (of the prompts', those read from and written to
   * the providers' prompt caches), the tenant's cost (of its priced calls on its
   * own provider keys; the unpriced are counted), the calls on callers' own keys and what
   * they cost the callers, compute time.
   */
  @JsonPropertyOrder({"requests", "tokens_in", "tokens_out", "cached_tokens_in", "cache_write_tokens_in",
      "cost_micro_usd", "cost_usd", "unpriced_requests", "byo_requests", "byo_cost_micro_usd", "compute_ms"})
  public record Figures(long requests, long tokensIn, long tokensOut, long cachedTokensIn, long costMicroUsd,
      long unpricedRequests, long byoRequests, long byoCostMicroUsd, long computeMs, long cacheWriteTokensIn) {
    static final Figures ZERO = new Figures(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** Figures without prompt-cache writes. */
    public Figures(long requests, long tokensIn, long tokensOut, long cachedTokensIn, long costMicroUsd,
        long unpricedRequests, long byoRequests, long byoCostMicroUsd, long computeMs) {
      this(requests, tokensIn, tokensOut, cachedTokensIn, costMicroUsd, unpricedRequests, byoRequests, byoCostMicroUsd,
          computeMs, 0);
    }

    @JsonProperty("cost_usd")
    BigDecimal costUsd() {
      return BigDecimal.valueOf(costMicroUsd, 6);
    }

    Figures plus(Figures o) {
      return new Figures(requests + o.requests, tokensIn + o.tokensIn, tokensOut + o.tokensOut,
          cachedTokensIn + o.cachedTokensIn, costMicroUsd + o.costMicroUsd, unpricedRequests + o.unpricedRequests,
          byoRequests + o.byoRequests, byoCostMicroUsd + o.byoCostMicroUsd, computeMs + o.computeMs,
          cacheWriteTokensIn + o.cacheWriteTokensIn);
    }
  }

  /** One row: its group ({@code day}, {@code model} or {@code key_id}) and its figures. */
  public sealed interface Row permits DayRow, ModelRow, KeyRow {
    Figures figures();
  }

  public record DayRow(LocalDate day, @JsonUnwrapped Figures figures) implements Row {}

  public record ModelRow(String model, @JsonUnwrapped Figures figures) implements Row {}

  /** A key's row; calls made without a key (anonymous ones) are the row whose key_id is null. */
  public record KeyRow(@JsonInclude(JsonInclude.Include.ALWAYS) String keyId, @JsonUnwrapped Figures figures)
      implements Row {}

  /** How rows are grouped: the {@code group_by} parameter. */
  public enum GroupBy {
    DAY, MODEL, KEY;

    String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    static GroupBy parse(Optional<String> value) {
      return value.map(v -> Arrays.stream(values()).filter(g -> g.wireName().equals(v)).findFirst()
          .orElseThrow(() -> ApiError.badRequest("invalid_parameter", "group_by must be day, model or key")
              .withExtension("param", "group_by"))).orElse(DAY);
    }
  }

  /** The days of a report: {@code from} through {@code to}, inclusive. */
  public record Range(LocalDate from, LocalDate to) {
    /**
     * The {@code from} and {@code to} parameters (YYYY-MM-DD): by default the last
     * {@value #DEFAULT_DAYS} days through {@code today}; a bad date, {@code from} after
     * {@code to} or more than {@value #MAX_DAYS} days are a 400 naming the parameter.
     */
    static Range parse(Optional<String> from, Optional<String> to, LocalDate today) {
      LocalDate last = to.map(v -> date("to", v)).orElse(today);
      LocalDate first = from.map(v -> date("from", v)).orElse(last.minusDays(DEFAULT_DAYS - 1));
      if (first.isAfter(last)) {
        throw ApiError.badRequest("invalid_parameter", "from (" + first + ") is after to (" + last + ")")
            .withExtension("param", "from");
      }
      if (ChronoUnit.DAYS.between(first, last) + 1 > MAX_DAYS) {
        throw ApiError.badRequest("invalid_parameter", "from and to span more than " + MAX_DAYS + " days")
            .withExtension("param", "from");
      }
      return new Range(first, last);
    }
  }

  /** A date parameter: YYYY-MM-DD, else a 400 naming it. */
  static LocalDate date(String param, String value) {
    try {
      if (DATE.matcher(value).matches()) {
        return LocalDate.parse(value);
      }
    } catch (DateTimeParseException e) {
      // said below
    }
    throw ApiError.badRequest("invalid_parameter", param + " must be a date as YYYY-MM-DD")
        .withExtension("param", param);
  }

  static UsageReport of(Range range, GroupBy groupBy, String accountId, List<Row> rows) {
    Figures totals = rows.stream().map(Row::figures).reduce(Figures.ZERO, Figures::plus);
    return new UsageReport(range.from(), range.to(), groupBy.wireName(), accountId, rows, totals);
  }
}
