package dev.atrium.rag;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * The default embedder: all-MiniLM-L6-v2 (quantized ONNX from langchain4j's Maven artifact),
 * 384 dimensions, L2-normalised, no network. The model loads once per JVM; calls run on a
 * small dispatcher of their own (never on request threads), which bounds how many batches
 * are embedded at once; the model splits each batch over its own pool.
 */
public final class MiniLmEmbedder implements Embedder {
  public static final String NAME = "local:all-minilm-l6-v2";
  private static volatile AllMiniLmL6V2QuantizedEmbeddingModel model;

  private final Executor executor;

  public MiniLmEmbedder(Executor executor) {
    this.executor = executor;
  }

  private AllMiniLmL6V2QuantizedEmbeddingModel model() {
    AllMiniLmL6V2QuantizedEmbeddingModel m = model;
    if (m == null) {
      synchronized (MiniLmEmbedder.class) {
        if (model == null) {
          // Not our executor: the model waits on the tasks it splits a batch into, and on a
          // pool of its callers that wait deadlocks once every thread is a waiting caller.
          model = new AllMiniLmL6V2QuantizedEmbeddingModel();
        }
        m = model;
      }
    }
    return m;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int dimensions() {
    return 384;
  }

  @Override
  public CompletionStage<List<float[]>> embed(List<String> texts) {
    return CompletableFuture.supplyAsync(() -> model().embedAll(texts.stream().map(TextSegment::from).toList())
        .content().stream().map(Embedding::vector).toList(), executor);
  }

  @Override
  public int countTokens(String text) {
    return model().estimateTokenCount(text);
  }
}
