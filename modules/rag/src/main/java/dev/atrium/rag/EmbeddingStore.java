package dev.atrium.rag;

import dev.atrium.core.db.Database;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jooq.impl.DSL;

/**
 * The {@code embeddings} table: a vector per (tenant, embedder, text hash), computed once.
 * The embed step fills it before the Document event exists; the vectors projection reads
 * it, so replaying the journal never computes an embedding again.
 */
public final class EmbeddingStore {
  private static final int BATCH = 32;

  private final Database database;
  private final EmbeddingMeter meter;

  EmbeddingStore(Database database, EmbeddingMeter meter) {
    this.database = database;
    this.meter = meter;
  }

  /**
   * Embeds the texts whose hashes are not stored yet; returns how many were computed. Each
   * batch sent to the embedder is one call metered for {@code usage} (the run and its step).
   */
  public CompletionStage<Integer> ensure(UsageContext usage, Embedder embedder, Map<String, String> textsByHash) {
    String tenantId = usage.tenantId();
    Set<String> hashes = textsByHash.keySet();
    return database.inTenant(tenantId, dsl -> new HashSet<>(dsl.select(DSL.field("text_hash", String.class))
            .from(DSL.table("embeddings"))
            .where(Database.tenantIs(DSL.field("tenant_id", String.class), tenantId))
            .and(DSL.field("embedder", String.class).eq(embedder.name()))
            .and(DSL.field("text_hash", String.class).in(hashes))
            .fetch(0, String.class)))
        .thenCompose(present -> {
          List<String> missing = hashes.stream().filter(h -> !present.contains(h)).sorted().toList();
          CompletionStage<Integer> done = CompletableFuture.completedFuture(0);
          for (int from = 0; from < missing.size(); from += BATCH) {
            List<String> batch = missing.subList(from, Math.min(missing.size(), from + BATCH));
            done = done.thenCompose(count -> meter.embed(embedder, batch.stream().map(textsByHash::get).toList(), usage,
                    UsageRecord.EMBEDDING)
                .thenCompose(embedded -> store(tenantId, embedder.name(), batch, embedded.vectors()))
                .thenApply(stored -> count + batch.size()));
          }
          return done;
        });
  }

  private CompletionStage<Void> store(String tenantId, String embedder, List<String> hashes, List<float[]> vectors) {
    Map<String, String> literals = new HashMap<>();
    for (int i = 0; i < hashes.size(); i++) {
      literals.put(hashes.get(i), literal(vectors.get(i)));
    }
    return database.inTenant(tenantId, dsl -> {
      var insert = dsl.insertInto(DSL.table("embeddings"), DSL.field("tenant_id"), DSL.field("embedder"),
          DSL.field("text_hash"), DSL.field("embedding"));
      for (String hash : hashes) {
        insert = insert.values(DSL.val(tenantId), DSL.val(embedder), DSL.val(hash),
            DSL.field("?::vector", Object.class, literals.get(hash)));
      }
      insert.onConflictDoNothing().execute();
      return null;
    });
  }

  /** pgvector's text form: {@code [0.1,0.2,...]}. */
  public static String literal(float[] vector) {
    StringBuilder s = new StringBuilder(vector.length * 10).append('[');
    for (int i = 0; i < vector.length; i++) {
      if (i > 0) {
        s.append(',');
      }
      s.append(vector[i]);
    }
    return s.append(']').toString();
  }
}
