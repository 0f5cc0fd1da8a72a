package dev.atrium.gateway;

import dev.atrium.core.JsonSerializable;
import java.util.List;

/**
 * A retrieved passage a model answers from, numbered as the answer cites it ([1], [2]...).
 */
public record Passage(int index, String docId, String chunkId, String source, String text, double score)
    implements JsonSerializable {

  /**
   * A passage as a {@code citation} event and a JSON answer show it: its index, document,
   * chunk, source, a snippet of at most 240 characters and the score to four places.
   */
  public static java.util.Map<String, Object> citation(Passage p) {
    java.util.Map<String, Object> json = new java.util.LinkedHashMap<>();
    json.put("index", p.index());
    json.put("doc_id", p.docId());
    json.put("chunk_id", p.chunkId());
    json.put("source", p.source());
    json.put("snippet", p.text().length() > 240 ? p.text().substring(0, 237) + "..." : p.text());
    json.put("score", Math.round(p.score() * 10_000) / 10_000.0);
    return json;
  }

  /** The passages as the system message a model reads them in. */
  public static String prompt(List<Passage> passages) {
    StringBuilder text = new StringBuilder("Passages from the tenant's documents. Use them when they answer the "
        + "question and cite them like [1].\n\n");
    passages.forEach(p -> text.append('[').append(p.index()).append("] (").append(p.source()).append(") ")
        .append(p.text()).append("\n\n"));
    return text.toString().strip();
  }
}
