package dev.atrium.bench;

import java.util.Random;

/**
 * Markdown documents of plain English words for the ingest bench: a heading every five
 * paragraphs, paragraphs of about 150 words (about 180 word-pieces, so that with the
 * default 256-word-piece chunks and their overlap each paragraph becomes one chunk near
 * the issue's ~200), every paragraph different (the embeddings table reuses a vector only
 * for a text it has seen), the same for the same seed.
 */
final class SyntheticText {
  static final int WORDS_PER_PARAGRAPH = 150;
  private static final int PARAGRAPHS_PER_SECTION = 5;
  private static final String[] WORDS = ("""
      account across action address after again agent allow answer apply archive around ask backup balance batch
      before begin behind below between billing branch budget buffer build cache call capacity cargo carry change
      check choose cluster code collect commit common compare config connect contract copy cost count create credit
      customer daily data deliver deploy design detail device direct document domain draft during early edge engine
      error estimate event every export failure feature field filter final follow format forward freight future gateway
      general group handle harbour header health history holiday hour import include index input inspect invoice item
      journal keep label latency layer ledger level limit listen local lookup machine manage market measure memory
      merge message method metric minute model module monitor month network night notice number object offer office
      open order origin output owner package page partner payment period policy port prepare price primary process
      product project prompt protect provide public queue quota reason receive record region release remote replica
      report request reserve resource response restore result retry review route rule runtime safety schedule search
      season secure select send server service session settle share shift signal single source split stable station
      status storage stream summary supply support switch system table target tenant test ticket timeline token total
      trace track traffic transfer travel update upload usage user value vendor version vessel window worker yearly
      """).trim().split("\\s+");

  private SyntheticText() {}

  /** Document {@code n}: a title, then {@code paragraphs} paragraphs under headings. */
  static String document(Random random, int n, int paragraphs) {
    StringBuilder out = new StringBuilder("# Synthetic report ").append(n).append("\n\n");
    for (int p = 0; p < paragraphs; p++) {
      if (p % PARAGRAPHS_PER_SECTION == 0) {
        out.append("## Section ").append(p / PARAGRAPHS_PER_SECTION + 1).append("\n\n");
      }
      out.append(paragraph(random)).append("\n\n");
    }
    return out.toString();
  }

  /** One of the words, lower case: for names (the stateless bench's synthetic classes). */
  static String word(Random random) {
    return WORDS[random.nextInt(WORDS.length)];
  }

  /** About WORDS_PER_PARAGRAPH words in sentences of 8 to 17 words, one of them a number. */
  static String paragraph(Random random) {
    StringBuilder out = new StringBuilder();
    int words = 0;
    while (words < WORDS_PER_PARAGRAPH) {
      int length = 8 + random.nextInt(10);
      int numberAt = random.nextInt(length);
      for (int w = 0; w < length; w++) {
        String word = w == numberAt ? Integer.toString(random.nextInt(100_000)) : WORDS[random.nextInt(WORDS.length)];
        if (w == 0) {
          word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
        }
        out.append(word).append(w == length - 1 ? ". " : " ");
      }
      words += length;
    }
    return out.toString().strip();
  }
}
