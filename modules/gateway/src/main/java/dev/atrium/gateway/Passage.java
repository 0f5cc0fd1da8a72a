package dev.atrium.gateway;

import dev.atrium.core.JsonSerializable;
import java.util.List;

/**
 * A retrieved passage a model answers from, numbered as the answer cites it ([1], [2]...).
 */
public record Passage(int index, String docId, String chunkId, String source, String text, double score)
    implements JsonSerializable {

  /** The passages as the system message a model reads them in. */
  public static String prompt(List<Passage> passages) {
    StringBuilder text = new StringBuilder("Passages from the tenant's documents. Use them when they answer the "
        + "question and cite them like [1].\n\n");
    passages.forEach(p -> text.append('[').append(p.index()).append("] (").append(p.source()).append(") ")
        .append(p.text()).append("\n\n"));
    return text.toString().strip();
  }
}
