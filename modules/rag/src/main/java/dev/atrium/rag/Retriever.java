package dev.atrium.rag;

import dev.atrium.core.Json;
import dev.atrium.core.db.Database;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.jooq.Record;

/**
 * The tenant's most relevant chunks for a query: its embedding, then a pgvector cosine
 * search on the tenant's rows (service role, row-level security) with optional filters.
 * pgvector 0.8's iterative index scan keeps a filtered HNSW search returning k rows when
 * enough rows match.
 */
public final class Retriever {
  private final Database database;
  private final Embedders embedders;
  private final EmbeddingMeter meter;
  private final Reranker reranker;

  /** Filters that narrow the search; null or empty fields filter nothing. */
  public record Filters(List<String> docIds, String repo, String user, List<String> tags, String sourcePrefix) {
    public static final Filters NONE = new Filters(List.of(), null, null, List.of(), null);

    public Filters {
      docIds = docIds == null ? List.of() : List.copyOf(docIds);
      tags = tags == null ? List.of() : List.copyOf(tags);
    }
  }

  /** A retrieved chunk. */
  public record Hit(String docId, String chunkId, String source, String text, String headingPath, double score) {}

  /** A hook to reorder hits (a cross-encoder, a business rule); none by default. */
  @FunctionalInterface
  public interface Reranker {
    List<Hit> rerank(String query, List<Hit> hits);

    Reranker NONE = (query, hits) -> hits;
  }

  Retriever(Database database, Embedders embedders, EmbeddingMeter meter, Reranker reranker) {
    this.database = database;
    this.embedders = embedders;
    this.meter = meter;
    this.reranker = reranker;
  }

  /**
   * The {@code k} best chunks of {@code usage}'s tenant for {@code query}; the query's
   * embedding is metered for {@code usage} (the search request, the chat turn) as
   * {@code query_embedding}.
   */
  public CompletionStage<List<Hit>> retrieve(UsageContext usage, String query, int k, Filters filters) {
    String tenantId = requireTenant(usage.tenantId());
    Embedder embedder = embedders.forTenant(tenantId);
    return meter.embed(embedder, List.of(query), usage, UsageRecord.QUERY_EMBEDDING).thenCompose(embedded ->
        search(tenantId, embedder.name(), embedded.vectors().get(0), k, filters))
        .thenApply(hits -> reranker.rerank(query, hits));
  }

  /** The search itself, for a vector already computed (benchmarks insert their own). */
  public CompletionStage<List<Hit>> search(String tenantId, String embedder, float[] vector, int k, Filters filters) {
    requireTenant(tenantId);
    int dims = vector.length;
    String literal = EmbeddingStore.literal(vector);
    return database.inTenant(tenantId, dsl -> {
      // Iterative scan: a filtered HNSW search goes on past its first candidates until it has k rows.
      dsl.execute("SET LOCAL hnsw.iterative_scan = relaxed_order");
      dsl.execute("SET LOCAL hnsw.ef_search = " + Math.max(40, 2 * k));
      StringBuilder sql = new StringBuilder("""
          SELECT doc_id, chunk_id, source, text, heading_path,
                 1 - (embedding::vector(%d) <=> ?::vector(%d)) AS score
          FROM rag_chunks
          WHERE tenant_id = ? AND embedder = ? AND vector_dims(embedding) = %d
            AND (expires_at IS NULL OR expires_at > now())
          """.formatted(dims, dims, dims));
      List<Object> binds = new ArrayList<>(List.of(literal, tenantId, embedder));
      if (!filters.docIds().isEmpty()) {
        sql.append(" AND doc_id = ANY(?::text[])");
        binds.add(filters.docIds().toArray(String[]::new));
      }
      if (filters.repo() != null) {
        sql.append(" AND metadata->>'repo' = ?");
        binds.add(filters.repo());
      }
      if (filters.user() != null) {
        sql.append(" AND metadata->>'user' = ?");
        binds.add(filters.user());
      }
      if (!filters.tags().isEmpty()) {
        sql.append(" AND metadata @> ?::jsonb");
        var tags = Json.MAPPER.createObjectNode();
        filters.tags().forEach(tags.putArray("tags")::add);
        binds.add(tags.toString());
      }
      if (filters.sourcePrefix() != null) {
        sql.append(" AND source LIKE ? ESCAPE '\\'");
        binds.add(filters.sourcePrefix().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%");
      }
      sql.append(" ORDER BY embedding::vector(%d) <=> ?::vector(%d) LIMIT ?".formatted(dims, dims));
      binds.add(literal);
      binds.add(k);
      List<Hit> hits = new ArrayList<>();
      for (Record r : dsl.fetch(sql.toString(), binds.toArray())) {
        hits.add(new Hit(r.get(0, String.class), r.get(1, String.class), r.get(2, String.class), r.get(3, String.class),
            r.get(4, String.class), r.get(5, Double.class)));
      }
      // relaxed_order may return rows slightly out of order.
      hits.sort(Comparator.comparingDouble(Hit::score).reversed());
      return hits;
    });
  }

  /**
   * Retrieval fails closed: without a tenant there is nothing to search, never "every
   * tenant" (the SQL's tenant filter and row-level security would find nothing anyway).
   */
  static String requireTenant(String tenantId) {
    if (tenantId == null || tenantId.isBlank()) {
      throw new IllegalArgumentException("retrieval needs a tenant");
    }
    return tenantId;
  }

  /** Hits as numbered passages for a prompt or an extract. */
  public static List<Passage> passages(List<Hit> hits) {
    List<Passage> passages = new ArrayList<>();
    for (int i = 0; i < hits.size(); i++) {
      Hit h = hits.get(i);
      passages.add(new Passage(i + 1, h.docId(), h.chunkId(), h.source(), h.text(), h.score()));
    }
    return passages;
  }
}
