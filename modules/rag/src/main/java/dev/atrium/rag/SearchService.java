package dev.atrium.rag;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.core.db.Database;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.gateway.ChatResult;
import dev.atrium.gateway.Extractive;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jooq.impl.DSL;

/**
 * {@code /v1/search}: retrieval, then an answer that cites its sources by number, a
 * confidence from the retrieval scores, and follow-up questions. With the tenant's model the
 * query is rewritten for search and the answer generated from the passages; with
 * {@code local} the answer is an extract of the passages and the follow-ups come from the
 * headings of the retrieved documents. Answers are cached per tenant, keyed on the tenant's
 * document generation, so any document change invalidates them on every node.
 */
public final class SearchService {
  private final Database database;
  private final Retriever retriever;
  private final ModelGateway gateway;
  private final Cache<String, Result> cache;

  public record Source(int index, String docId, String chunkId, String source, String snippet, double score) {}

  public record Result(String query, String answer, List<Source> sources, double confidence, List<String> followUps,
      boolean cached) {
    Result asCached() {
      return new Result(query, answer, sources, confidence, followUps, true);
    }
  }

  public SearchService(Database database, Retriever retriever, ModelGateway gateway, Duration cacheTtl) {
    this.database = database;
    this.retriever = retriever;
    this.gateway = gateway;
    this.cache = Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(cacheTtl).build();
  }

  /** Collapses white space; the cache also ignores case. */
  public static String normalize(String query) {
    return query == null ? "" : query.strip().replaceAll("\\s+", " ");
  }

  /**
   * Answers for {@code usage}'s tenant; the model calls it makes (rewrite, the query's embedding, answer,
   * follow-ups) are metered for it.
   */
  public CompletionStage<Result> search(UsageContext usage, String query, int topK, Retriever.Filters filters) {
    String tenantId = usage.tenantId();
    String normalized = normalize(query);
    return generation(tenantId).thenCompose(generation -> {
      String key = String.join("\u0000", tenantId, Long.toString(generation), normalized.toLowerCase(Locale.ROOT),
          Integer.toString(topK), filters.toString());
      Result hit = cache.getIfPresent(key);
      if (hit != null) {
        return CompletableFuture.completedFuture(hit.asCached());
      }
      boolean model = gateway.hasModel(tenantId, ModelTask.SEARCH_ANSWER);
      return (model ? rewrite(usage, normalized) : CompletableFuture.completedFuture(normalized))
          .thenCompose(searchQuery -> retriever.retrieve(usage, searchQuery, topK, filters))
          .thenCompose(hits -> answer(usage, normalized, hits, model))
          .thenApply(result -> {
            cache.put(key, result);
            return result;
          });
    });
  }

  private CompletionStage<Long> generation(String tenantId) {
    return database.inTenant(tenantId, dsl -> {
      Long g = dsl.select(DSL.field("generation", Long.class)).from(DSL.table("rag_tenant_state"))
          .where(Database.tenantIs(DSL.field("tenant_id", String.class), tenantId)).fetchOne(0, Long.class);
      return g == null ? 0L : g;
    });
  }

  private CompletionStage<String> rewrite(UsageContext usage, String query) {
    var route = gateway.resolve(usage.tenantId(), ModelTask.SEARCH_REWRITE, null).orElseThrow();
    return gateway.complete(route, List.of(
            ChatMessage.system("Rewrite the user's question as a short search query for a document index. "
                + "Answer with the query only."),
            ChatMessage.user(query)), null, List.of(), usage, UsageRecord.SEARCH_REWRITE)
        .thenApply(r -> {
          String rewritten = normalize(r.content());
          return rewritten.isEmpty() || rewritten.length() > 500 ? query : rewritten;
        })
        .exceptionally(e -> query);
  }

  private CompletionStage<Result> answer(UsageContext usage, String query, List<Retriever.Hit> hits, boolean model) {
    List<Passage> passages = Retriever.passages(hits);
    List<Source> sources = new ArrayList<>();
    for (Passage p : passages) {
      String snippet = p.text().length() > 240 ? p.text().substring(0, 237) + "..." : p.text();
      sources.add(new Source(p.index(), p.docId(), p.chunkId(), p.source(), snippet, Math.round(p.score() * 10_000) / 10_000.0));
    }
    double confidence = confidence(hits);
    if (hits.isEmpty()) {
      return CompletableFuture.completedFuture(new Result(query,
          "No passage of your documents matches this question.", sources, 0, List.of(), false));
    }
    List<String> localFollowUps = followUps(query, hits);
    if (!model) {
      return CompletableFuture.completedFuture(new Result(query, Extractive.answer(query, passages, 3), sources,
          confidence, localFollowUps, false));
    }
    // The passages travel as passages: the provider puts them in the prompt (a numbered
    // system message), the local provider answers from them.
    CompletionStage<ChatResult> answer = gateway.complete(
        gateway.resolve(usage.tenantId(), ModelTask.SEARCH_ANSWER, null).orElseThrow(), List.of(
        ChatMessage.system("Answer the question using only the numbered passages. Cite the passages you use "
            + "like [1]. If the passages do not contain the answer, say so."),
        ChatMessage.user("Question: " + query)), null, passages, usage, UsageRecord.SEARCH_ANSWER);
    CompletionStage<List<String>> followUps = gateway.complete(
            gateway.resolve(usage.tenantId(), ModelTask.SEARCH_FOLLOW_UPS, null).orElseThrow(), List.of(
            ChatMessage.system("Suggest three short follow-up questions a reader of these passages might ask "
                + "next, one per line, nothing else."),
            ChatMessage.user("Question: " + query)), null, passages, usage, UsageRecord.SEARCH_FOLLOW_UPS)
        .thenApply(r -> r.content().lines().map(l -> l.replaceFirst("^[-*\\d.)\\s]+", "").strip())
            .filter(l -> l.endsWith("?")).limit(3).toList())
        .exceptionally(e -> localFollowUps);
    return answer.thenCombine(followUps, (a, f) ->
        new Result(query, a.content(), sources, confidence, f.isEmpty() ? localFollowUps : f, false));
  }

  /**
   * From the top cosine similarity s1 and its margin over the second, s1 − s2:
   * clamp((s1 − 0.25) / 0.45) × (0.75 + 0.25 × clamp((s1 − s2) / 0.08)), rounded to 0.01.
   */
  static double confidence(List<Retriever.Hit> hits) {
    if (hits.isEmpty()) {
      return 0;
    }
    double s1 = hits.get(0).score();
    double margin = hits.size() > 1 ? s1 - hits.get(1).score() : 0.08;
    double value = clamp((s1 - 0.25) / 0.45) * (0.75 + 0.25 * clamp(margin / 0.08));
    return Math.round(value * 100) / 100.0;
  }

  private static double clamp(double v) {
    return Math.max(0, Math.min(1, v));
  }

  /** Topics of the retrieved documents the question did not touch, as questions. */
  static List<String> followUps(String query, List<Retriever.Hit> hits) {
    String asked = query.toLowerCase(Locale.ROOT);
    Set<String> questions = new LinkedHashSet<>();
    for (Retriever.Hit hit : hits) {
      if (hit.headingPath() == null || hit.headingPath().isBlank()) {
        continue;
      }
      String[] path = hit.headingPath().split(" > ");
      String topic = path[path.length - 1];
      String document = path[0];
      boolean covered = List.of(topic.toLowerCase(Locale.ROOT).split("\\W+")).stream()
          .filter(w -> w.length() > 3).anyMatch(asked::contains);
      if (!covered) {
        questions.add(topic.equals(document) ? "What else does " + document + " cover?"
            : "What does " + document + " say about " + topic.toLowerCase(Locale.ROOT) + "?");
      }
      if (questions.size() == 3) {
        break;
      }
    }
    return List.copyOf(questions);
  }

}
