package dev.atrium.rag;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

/** The in-process model itself: what it counts and how much of a text it reads. */
class MiniLmEmbedderTest {
  private final MiniLmEmbedder embedder = new MiniLmEmbedder(ForkJoinPool.commonPool());
  /** Ten sentences of 13 words and a full stop, one word-piece each: 140 word-pieces. */
  private static final String LEAD = "the harbour office opens early and the ferry leaves the port at dawn. ".repeat(10);

  @Test
  void countsEveryWordPieceOfALongText() {
    assertThat(embedder.countTokens("")).isZero();
    assertThat(embedder.countTokens("the ferry")).isEqualTo(2);
    int one = embedder.countTokens(LEAD);
    assertThat(one).isEqualTo(140);
    assertThat(embedder.countTokens(LEAD.repeat(4))).isEqualTo(4 * one);
  }

  @Test
  void readsPastTheShippedTokenizersCutOffOf128() {
    List<float[]> v = embedder.embed(List.of(
        LEAD + "Invoices for freight are settled in euros at the end of every month.",
        LEAD + "Volcanic soil near the summit grows excellent grapes for red wine.",
        LEAD + "Invoices for freight are settled in euros at the end of every month."))
        .toCompletableFuture().join().vectors();
    assertThat(v).allSatisfy(x -> assertThat(x).hasSize(384));
    assertThat(dot(v.get(0), v.get(0))).isCloseTo(1.0, within(1e-4));
    // Identical texts, identical vectors; texts that differ only after word-piece 140 do not.
    assertThat(dot(v.get(0), v.get(2))).isCloseTo(1.0, within(1e-5));
    assertThat(dot(v.get(0), v.get(1))).isLessThan(0.99);
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
