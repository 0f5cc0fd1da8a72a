package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SyntheticTextTest {
  @Test
  void documentsAreMarkdownWithAHeadingEveryFiveParagraphs() {
    String doc = SyntheticText.document(new Random(1), 3, 12);
    assertThat(doc).startsWith("# Synthetic report 3\n\n## Section 1\n\n");
    assertThat(doc.split("\n\n")).filteredOn(block -> block.startsWith("## ")).hasSize(3);
    assertThat(doc.split("\n\n")).filteredOn(block -> !block.startsWith("#")).hasSize(12);
  }

  @Test
  void paragraphsAreAboutTheirLengthDistinctAndReproducible() {
    Random a = new Random(9);
    Random b = new Random(9);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      String p = SyntheticText.paragraph(a);
      assertThat(p).isEqualTo(SyntheticText.paragraph(b));
      assertThat(seen.add(p)).as("paragraph %d is new", i).isTrue();
      int words = p.split("\\s+").length;
      assertThat(words).isBetween(SyntheticText.WORDS_PER_PARAGRAPH, SyntheticText.WORDS_PER_PARAGRAPH + 17);
      assertThat(Arrays.stream(p.split("\\s+")).filter(w -> w.matches("\\d+\\.?"))).isNotEmpty();
      assertThat(p).endsWith(".");
    }
  }
}
