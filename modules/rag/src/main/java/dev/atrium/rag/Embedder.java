package dev.atrium.rag;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Turns texts into vectors. {@link #name()} is stored with every vector (the embeddings
 * table, rag_chunks), so vectors of different embedders are never compared.
 */
public interface Embedder {
  String name();

  /** The width of this embedder's vectors. */
  int dimensions();

  /** One vector per text, in order. */
  CompletionStage<List<float[]>> embed(List<String> texts);

  /** Word-pieces (or tokens) in a text, for chunking. */
  int countTokens(String text);
}
