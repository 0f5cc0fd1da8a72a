package dev.atrium.rag;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChunkerTest {
  /** One token per word: easy to reason about in tests. */
  static int words(String text) {
    String t = text.strip();
    return t.isEmpty() ? 0 : t.split("\\s+").length;
  }

  @Test
  void keepsHeadingPathsAndStartsAChunkPerSection() {
    List<Chunker.Chunk> chunks = new Chunker(ChunkerTest::words, 50, 5).chunk("""
        # Guide
        Intro paragraph here.

        ## Install
        ### Linux
        Run the installer.

        ## Use
        Open the app.
        """);
    assertThat(chunks).extracting(Chunker.Chunk::headingPath)
        .containsExactly("Guide", "Guide > Install > Linux", "Guide > Use");
    assertThat(chunks).extracting(Chunker.Chunk::text)
        .containsExactly("Intro paragraph here.", "Run the installer.", "Open the app.");
    assertThat(chunks).extracting(Chunker.Chunk::position).containsExactly(0, 1, 2);
    assertThat(chunks.get(0).textHash()).hasSize(64);
  }

  @Test
  void neverExceedsTheLimitAndOverlapsSectionsNeighbours() {
    StringBuilder text = new StringBuilder("# Long\n");
    for (int i = 0; i < 40; i++) {
      text.append("Sentence number ").append(i).append(" has six words. ");
    }
    List<Chunker.Chunk> chunks = new Chunker(ChunkerTest::words, 30, 12).chunk(text.toString());
    assertThat(chunks.size()).isGreaterThan(5);
    assertThat(chunks).allSatisfy(c -> assertThat(words(c.text())).isLessThanOrEqualTo(30));
    // Consecutive chunks share the trailing sentences of the former (12 words: two sentences).
    for (int i = 1; i < chunks.size(); i++) {
      String previous = chunks.get(i - 1).text();
      String lastSentence = previous.substring(previous.lastIndexOf("Sentence"));
      String current = chunks.get(i).text();
      String firstSentence = current.substring(0, current.indexOf('.') + 1);
      assertThat(current).contains(lastSentence);
      assertThat(previous).contains(firstSentence);
    }
    // Every sentence is somewhere.
    String all = String.join(" ", chunks.stream().map(Chunker.Chunk::text).toList());
    for (int i = 0; i < 40; i++) {
      assertThat(all).contains("Sentence number " + i + " ");
    }
  }

  @Test
  void cutsAnOverlongRunBetweenWords() {
    String run = "word ".repeat(100);
    List<Chunker.Chunk> chunks = new Chunker(ChunkerTest::words, 30, 0).chunk(run);
    assertThat(chunks).allSatisfy(c -> assertThat(words(c.text())).isLessThanOrEqualTo(30));
    assertThat(chunks.stream().mapToInt(c -> words(c.text())).sum()).isEqualTo(100);
  }

  @Test
  void sameTextSameHashAndEmptyInputNoChunks() {
    var chunker = new Chunker(ChunkerTest::words, 30, 0);
    assertThat(chunker.chunk("A fact.").get(0).textHash()).isEqualTo(chunker.chunk("A fact.").get(0).textHash());
    assertThat(chunker.chunk("\n\n  \n")).isEmpty();
  }
}
