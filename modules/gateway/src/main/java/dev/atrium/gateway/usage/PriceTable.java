package dev.atrium.gateway.usage;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What model calls cost, from {@code atrium.usage.prices} in the server config: per upstream
 * model (the name the provider is asked for), USD per million tokens of {@code input},
 * {@code output}, {@code cached-input} (the part of the prompt the provider served from
 * its cache; the input price when left out) and {@code cache-write-input} (the part of the
 * prompt the provider wrote to its cache, as Anthropic bills it; the input price when left
 * out). A price of p USD per million tokens is p
 * micro-USD per token. A negative price, a field it does not know, or an entry that is not
 * a table of numbers stops the node at start, naming the field.
 */
public final class PriceTable {
  public static final String PATH = "atrium.usage.prices";
  private static final Set<String> FIELDS = Set.of("input", "output", "cached-input", "cache-write-input");

  /** USD per million tokens (= micro-USD per token). */
  public record Price(double input, double output, double cachedInput, double cacheWriteInput) {
    /** A price without a cache-write price of its own: cache writes cost what input does. */
    public Price(double input, double output, double cachedInput) {
      this(input, output, cachedInput, input);
    }

    /** The cost in micro-USD of {@code in} prompt tokens ({@code cachedIn} of them cached) and {@code out} tokens. */
    public long micros(int in, int out, int cachedIn) {
      return micros(in, out, cachedIn, 0);
    }

    /**
     * The cost in micro-USD of {@code in} prompt tokens, {@code cachedIn} of them read from
     * the provider's cache and {@code cacheWriteIn} written to it, and {@code out} tokens.
     */
    public long micros(int in, int out, int cachedIn, int cacheWriteIn) {
      int cached = Math.min(Math.max(cachedIn, 0), in);
      int written = Math.min(Math.max(cacheWriteIn, 0), in - cached);
      return Math.round((in - cached - written) * input + cached * cachedInput + written * cacheWriteInput
          + out * output);
    }
  }

  /** A price table entry the node cannot stand behind. */
  public static final class InvalidPriceTable extends IllegalArgumentException {
    InvalidPriceTable(String message) {
      super(message);
    }
  }

  private final Map<String, Price> prices;

  public PriceTable(Map<String, Price> prices) {
    this.prices = Map.copyOf(prices);
  }

  /** The table of {@code config}'s {@value #PATH}; every problem at once, each naming its field. */
  public static PriceTable fromConfig(Config config) {
    if (!config.hasPath(PATH)) {
      return new PriceTable(Map.of());
    }
    List<String> problems = new ArrayList<>();
    Map<String, Price> prices = new HashMap<>();
    for (Map.Entry<String, ConfigValue> model : config.getObject(PATH).entrySet()) {
      String where = PATH + ".\"" + model.getKey() + "\"";
      if (!(model.getValue() instanceof ConfigObject entry)) {
        problems.add(where + ": must be a table of input, output, cached-input and cache-write-input prices");
        continue;
      }
      entry.keySet().stream().filter(f -> !FIELDS.contains(f)).sorted()
          .forEach(f -> problems.add(where + "." + f + ": unknown field (known: input, output, cached-input, cache-write-input)"));
      Optional<Double> input = price(entry, "input", where, true, problems);
      Optional<Double> output = price(entry, "output", where, true, problems);
      Optional<Double> cached = price(entry, "cached-input", where, false, problems);
      Optional<Double> cacheWrite = price(entry, "cache-write-input", where, false, problems);
      if (input.isPresent() && output.isPresent()) {
        prices.put(model.getKey(), new Price(input.get(), output.get(), cached.orElse(input.get()),
            cacheWrite.orElse(input.get())));
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidPriceTable("invalid price table:\n  " + String.join("\n  ", problems));
    }
    return new PriceTable(prices);
  }

  private static Optional<Double> price(ConfigObject entry, String field, String where, boolean required,
      List<String> problems) {
    ConfigValue value = entry.get(field);
    if (value == null) {
      if (required) {
        problems.add(where + "." + field + ": missing (USD per million tokens)");
      }
      return Optional.empty();
    }
    if (value.valueType() != ConfigValueType.NUMBER) {
      problems.add(where + "." + field + ": must be a number (USD per million tokens), not " + value.render());
      return Optional.empty();
    }
    double price = ((Number) value.unwrapped()).doubleValue();
    if (price < 0 || Double.isNaN(price) || Double.isInfinite(price)) {
      problems.add(where + "." + field + ": must not be negative (" + value.render() + ")");
      return Optional.empty();
    }
    return Optional.of(price);
  }

  /** The price of {@code upstreamModel}, if the table has one. */
  public Optional<Price> priceOf(String upstreamModel) {
    return Optional.ofNullable(prices.get(upstreamModel));
  }

  /** The record's cost in micro-USD, or null when its model has no price; 0 for an answer from the response cache. */
  Long cost(UsageRecord record) {
    if (record.cacheHit()) {
      return 0L;
    }
    Price price = prices.get(record.upstreamModel());
    return price == null ? null : price.micros(record.tokensIn(), record.tokensOut(), record.cachedTokensIn(),
        record.cacheWriteTokensIn());
  }
}
