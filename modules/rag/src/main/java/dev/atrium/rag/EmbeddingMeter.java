package dev.atrium.rag;

import dev.atrium.core.Futures;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.gateway.usage.UsageRecorder;
import dev.atrium.gateway.usage.UsageStatus;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Every embedding call, metered: {@code /v1/embeddings}, the query of a retrieval (search,
 * chat) and each batch of an ingest run. One usage row per call, however it ends; its tokens
 * are the provider's figure when it reports one, else the texts counted with the embedder's
 * own tokenizer ({@code tokens_counted}), failed calls included (the texts were sent).
 */
final class EmbeddingMeter {
  private final UsageRecorder usage;

  EmbeddingMeter(UsageRecorder usage) {
    this.usage = usage;
  }

  /** The vectors of one call and the input tokens it was metered with. */
  record Metered(List<float[]> vectors, int tokens) {}

  /** {@code texts} embedded by {@code embedder}, metered for {@code context} as {@code operation} of the embedder's model. */
  CompletionStage<Metered> embed(Embedder embedder, List<String> texts, UsageContext context, String operation) {
    return embed(embedder, texts, context, operation, embedder.upstreamModel());
  }

  /** The same, metered as {@code model}: the name the client asked for ({@code /v1/embeddings}). */
  CompletionStage<Metered> embed(Embedder embedder, List<String> texts, UsageContext context, String operation,
      String model) {
    UsageRecord.Call call = UsageRecord.start(context, operation, embedder.provider(), model, embedder.upstreamModel());
    return embedder.embed(texts).handle((embedded, error) -> {
      boolean counted = embedded == null || embedded.reportedTokens() == null;
      int tokens = counted ? texts.stream().mapToInt(embedder::countTokens).sum() : embedded.reportedTokens();
      usage.record(call.end(error == null ? UsageStatus.OK : UsageStatus.of(error), new ChatEvent.Usage(tokens, 0),
          counted));
      if (error != null) {
        throw Futures.rethrow(error);
      }
      return new Metered(embedded.vectors(), tokens);
    });
  }
}
