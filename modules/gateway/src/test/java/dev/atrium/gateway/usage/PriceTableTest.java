package dev.atrium.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The price table of the server config: what it accepts, what stops the node, what calls cost. */
class PriceTableTest {

  static PriceTable parse(String prices) {
    return PriceTable.fromConfig(ConfigFactory.parseString("atrium.usage.prices {" + prices + "}"));
  }

  static UsageRecord call(String upstreamModel, int in, int out, int cachedIn) {
    return new UsageRecord(Instant.now(), null, UsageRecord.CHAT, "openai:up", "m", upstreamModel, in, out, cachedIn,
        false, null, null, null, null, null, null, 1, UsageStatus.OK, false, null);
  }

  @Test
  void costsInMicroUsdFromUsdPerMillionTokens() {
    PriceTable table = parse("""
        "gpt-4.1" { input = 2.0, output = 8.0, cached-input = 0.5 }
        cheap { input = 0.15, output = 0.6 }""");
    // 1,000 prompt tokens of which 400 cached, 200 out: 600 × 2 + 400 × 0.5 + 200 × 8 micro-USD.
    assertThat(table.cost(call("gpt-4.1", 1000, 200, 400))).isEqualTo(1200 + 200 + 1600);
    // Without cached-input the cached tokens cost the input price.
    assertThat(table.cost(call("cheap", 100, 10, 50))).isEqualTo(Math.round(100 * 0.15 + 10 * 0.6));
    assertThat(table.cost(call("unknown-model", 100, 10, 0))).isNull();
  }

  @Test
  void cacheWritesCostTheirOwnPriceOrTheInputPrice() {
    PriceTable table = parse("""
        claude { input = 3.0, output = 15.0, cached-input = 0.3, cache-write-input = 3.75 }
        plain { input = 1.0, output = 2.0 }""");
    UsageRecord call = new UsageRecord(Instant.now(), null, UsageRecord.CHAT, "anthropic:up", "m", "claude", 1000, 100,
        300, 500, false, null, null, null, null, null, null, 1, UsageStatus.OK, false, null);
    // 1,000 prompt tokens: 200 plain, 300 read from the cache, 500 written to it; 100 out.
    assertThat(table.cost(call)).isEqualTo(Math.round(200 * 3.0 + 300 * 0.3 + 500 * 3.75 + 100 * 15.0));
    UsageRecord plain = new UsageRecord(Instant.now(), null, UsageRecord.CHAT, "anthropic:up", "m", "plain", 1000, 100,
        0, 500, false, null, null, null, null, null, null, 1, UsageStatus.OK, false, null);
    assertThat(table.cost(plain)).isEqualTo(1000 + 200);
    // The three-figure price and cost stay what they were.
    assertThat(new PriceTable.Price(2, 8, 0.5)).isEqualTo(new PriceTable.Price(2, 8, 0.5, 2));
    assertThat(new PriceTable.Price(2, 8, 0.5).micros(1000, 200, 400)).isEqualTo(1200 + 200 + 1600);
  }

  @Test
  void aNegativePriceStopsTheNodeNamingTheField() {
    assertThatThrownBy(() -> parse("m { input = 1, output = -0.5 }"))
        .isInstanceOf(PriceTable.InvalidPriceTable.class)
        .hasMessageContaining("atrium.usage.prices.\"m\".output: must not be negative (-0.5)");
  }

  @Test
  void unknownFieldsAndBadValuesAreAllNamedAtOnce() {
    assertThatThrownBy(() -> parse("""
        a { input = 1, output = 2, cached_input = 1 }
        b { input = "cheap", output = 2 }
        c { output = 2 }
        d = 5"""))
        .isInstanceOf(PriceTable.InvalidPriceTable.class)
        .hasMessageContaining("atrium.usage.prices.\"a\".cached_input: unknown field (known: input, output, cached-input, cache-write-input)")
        .hasMessageContaining("atrium.usage.prices.\"b\".input: must be a number")
        .hasMessageContaining("atrium.usage.prices.\"c\".input: missing")
        .hasMessageContaining("atrium.usage.prices.\"d\": must be a table");
  }

  @Test
  void theShippedTableIsValidAndPricesTheLocalModelsAtZero() {
    PriceTable shipped = PriceTable.fromConfig(ConfigFactory.load());
    assertThat(shipped.cost(call("local", 100, 100, 0))).isZero();
    assertThat(shipped.cost(call("all-minilm-l6-v2", 100, 0, 0))).isZero();
  }
}
