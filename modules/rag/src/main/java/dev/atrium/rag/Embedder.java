package dev.atrium.rag;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Turns texts into vectors. {@link #name()} is stored with every vector (the embeddings
 * table, rag_chunks), so vectors of different embedders are never compared; it is
 * {@code "<provider>:<model>"} ({@code local:all-minilm-l6-v2}, {@code openai:<provider>:<model>}),
 * which is also how its calls are metered ({@link #provider()}, {@link #upstreamModel()}).
 */
public interface Embedder {
  String name();

  /** The width of this embedder's vectors. */
  int dimensions();

  /** One vector per text, in order, and the tokens the provider says it read, if it says. */
  CompletionStage<Embedded> embed(List<String> texts);

  /** Word-pieces (or tokens) in a text, for chunking, and for metering when the provider reports none. */
  int countTokens(String text);

  /** Who computes the vectors, as usage_events names providers: {@code local}, {@code openai:<provider>}. */
  default String provider() {
    return name().substring(0, name().lastIndexOf(':'));
  }

  /** The model the provider runs: {@code all-minilm-l6-v2}, the tenant's {@code embedding_model}. */
  default String upstreamModel() {
    return name().substring(name().lastIndexOf(':') + 1);
  }

  /** The vectors of one call, and the input tokens the provider reported (null when it reported none). */
  record Embedded(List<float[]> vectors, Integer reportedTokens) {
    public Embedded {
      vectors = List.copyOf(vectors);
    }
  }
}
