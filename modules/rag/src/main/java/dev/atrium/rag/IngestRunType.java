package dev.atrium.rag;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.Database;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.runs.RunFailure;
import dev.atrium.runs.RunType;
import dev.atrium.runs.RunUsage;
import dev.atrium.runs.Step;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.jooq.Record;
import org.jooq.impl.DSL;

/**
 * {@code ingest}: uploaded documents become searchable chunks. One sub-step per document in
 * each step, so progress is reported per step and a resumed run repeats no finished work:
 * extract (Tika, jsoup, markdown) → chunk (heading paths, word-piece limit) → embed (into
 * {@code embeddings}, reusing vectors already there; each batch sent to the embedder is
 * metered for the run's owner with the run id and step {@code embed/<document>}) → persist
 * (a Document version) → cleanup (the staged uploads and texts). A document that cannot be read fails alone: the
 * run succeeds with it listed.
 */
public final class IngestRunType implements RunType {
  public static final String NAME = "ingest";
  private static final String SCHEMA = """
      {"$schema": "https://json-schema.org/draft/2020-12/schema",
       "type": "object", "additionalProperties": false, "required": ["documents"],
       "properties": {"documents": {"type": "array", "minItems": 1, "maxItems": 100000, "items": {
         "type": "object", "additionalProperties": false,
         "required": ["upload_id", "doc_id", "source", "content_type"],
         "properties": {
           "upload_id": {"type": "string"}, "doc_id": {"type": "string"}, "source": {"type": "string"},
           "content_type": {"type": "string"}, "metadata": {"type": "object"},
           "expires_at": {"type": "string", "format": "date-time"}}}}}}
      """;
  private static final TypeReference<List<Chunker.Chunk>> CHUNKS = new TypeReference<>() {};

  private final ActorSystem<?> system;
  private final TenantRegistry tenants;
  private final Database database;
  private final Embedders embedders;
  private final EmbeddingStore embeddings;
  private final Duration askTimeout;

  IngestRunType(ActorSystem<?> system, TenantRegistry tenants, Database database, Embedders embedders,
      EmbeddingMeter meter) {
    this.system = system;
    this.tenants = tenants;
    this.database = database;
    this.embedders = embedders;
    this.embeddings = new EmbeddingStore(database, meter);
    this.askTimeout = system.settings().config().getDuration("atrium.http.ask-timeout");
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String inputSchema() {
    return SCHEMA;
  }

  @Override
  public int maxInputBytes() {
    return 16 * 1024 * 1024;
  }

  @Override
  public Duration timeout() {
    return system.settings().config().getDuration("atrium.rag.ingest-timeout");
  }

  @Override
  public List<Step> plan(JsonNode input) {
    List<String> keys = IntStream.range(0, input.path("documents").size()).mapToObj(Integer::toString).toList();
    Step.RetryPolicy retry = new Step.RetryPolicy(4, Duration.ofMillis(500), Duration.ofSeconds(10));
    return List.of(
        new Step("extract", keys, this::extract, retry, IngestRunType::count, false),
        new Step("chunk", keys, this::chunk, retry, IngestRunType::count, false),
        new Step("embed", keys, this::embed, retry, IngestRunType::count, false),
        new Step("persist", keys, this::persist, retry, IngestRunType::documents, false),
        new Step("cleanup", List.of("all"), this::cleanup, retry, (results, failures) -> results.get("all"), true));
  }

  private static JsonNode document(Step.Context ctx) {
    return ctx.input().path("documents").path(Integer.parseInt(ctx.key()));
  }

  private CompletionStage<JsonNode> extract(Step.Context ctx) {
    JsonNode doc = document(ctx);
    return database.inTenant(ctx.tenantId(), dsl -> {
      Record upload = dsl.select(DSL.field("bytes", byte[].class), DSL.field("content_type", String.class))
          .from(DSL.table("document_uploads"))
          .where(Database.tenantIs(DSL.field("tenant_id", String.class), ctx.tenantId()))
          .and(DSL.field("upload_id", String.class).eq(doc.path("upload_id").asText()))
          .fetchOne();
      if (upload == null) {
        throw RunFailure.business("the upload of " + doc.path("source").asText() + " is gone");
      }
      String text;
      try {
        text = Extractor.markdown(upload.get(0, byte[].class), doc.path("content_type").asText());
      } catch (IllegalArgumentException e) {
        throw RunFailure.business(e.getMessage());
      }
      JsonNode expires = doc.path("expires_at");
      dsl.insertInto(DSL.table("ingest_items"))
          .set(DSL.field("run_id"), ctx.runId()).set(DSL.field("idx"), Integer.parseInt(ctx.key()))
          .set(DSL.field("tenant_id"), ctx.tenantId()).set(DSL.field("doc_id"), doc.path("doc_id").asText())
          .set(DSL.field("source"), doc.path("source").asText())
          .set(DSL.field("content_type"), doc.path("content_type").asText())
          .set(DSL.field("metadata", String.class), DSL.field("?::jsonb", String.class, doc.path("metadata").isObject()
              ? doc.path("metadata").toString() : "{}"))
          .set(DSL.field("text"), text)
          .set(DSL.field("expires_at", OffsetDateTime.class), expires.isTextual()
              ? OffsetDateTime.parse(expires.asText()) : null)
          .onConflict(DSL.field("run_id"), DSL.field("idx")).doUpdate()
          .set(DSL.field("text"), text)
          .execute();
      return (JsonNode) Json.MAPPER.createObjectNode().put("chars", text.length());
    });
  }

  private CompletionStage<Record> item(Step.Context ctx) {
    return database.inTenant(ctx.tenantId(), dsl -> dsl.select(DSL.field("text", String.class),
            DSL.field("chunks", String.class).as("chunks"))
        .from(DSL.table("ingest_items"))
        .where(Database.tenantIs(DSL.field("tenant_id", String.class), ctx.tenantId()))
        .and(DSL.field("run_id", String.class).eq(ctx.runId()))
        .and(DSL.field("idx", Integer.class).eq(Integer.parseInt(ctx.key())))
        .fetchOne());
  }

  private static JsonNode skipped() {
    return Json.MAPPER.createObjectNode().put("skipped", true);
  }

  private CompletionStage<JsonNode> chunk(Step.Context ctx) {
    TenantConfig.Documents settings = tenants.byId(ctx.tenantId()).orElseThrow().documents();
    Embedder embedder = embedders.forTenant(ctx.tenantId());
    return item(ctx).thenCompose(item -> {
      if (item == null) {
        return CompletableFuture.completedFuture(skipped());
      }
      // Two word-pieces are the model's [CLS] and [SEP].
      Chunker chunker = new Chunker(embedder::countTokens, settings.chunkTokens() - 2, settings.chunkOverlapTokens());
      List<Chunker.Chunk> chunks = chunker.chunk(item.get(0, String.class));
      String json;
      try {
        json = Json.MAPPER.writeValueAsString(chunks);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return database.inTenant(ctx.tenantId(), dsl -> {
        dsl.update(DSL.table("ingest_items"))
            .set(DSL.field("chunks", String.class), DSL.field("?::jsonb", String.class, json))
            .where(Database.tenantIs(DSL.field("tenant_id", String.class), ctx.tenantId()))
            .and(DSL.field("run_id", String.class).eq(ctx.runId()))
            .and(DSL.field("idx", Integer.class).eq(Integer.parseInt(ctx.key())))
            .execute();
        return (JsonNode) Json.MAPPER.createObjectNode().put("chunks", chunks.size());
      });
    });
  }

  private static List<Chunker.Chunk> chunks(Record item) {
    try {
      return Json.MAPPER.readValue(item.get(1, String.class), CHUNKS);
    } catch (Exception e) {
      throw new IllegalStateException("stored chunks are unreadable", e);
    }
  }

  private CompletionStage<JsonNode> embed(Step.Context ctx) {
    Embedder embedder = embedders.forTenant(ctx.tenantId());
    return item(ctx).thenCompose(item -> {
      if (item == null || item.get(1) == null) {
        return CompletableFuture.completedFuture(skipped());
      }
      Map<String, String> byHash = new LinkedHashMap<>();
      chunks(item).forEach(c -> byHash.putIfAbsent(c.textHash(), c.text()));
      return embeddings.ensure(RunUsage.of(tenants, ctx), embedder, byHash).thenApply(computed ->
          (JsonNode) Json.MAPPER.createObjectNode().put("embedded", computed).put("reused", byHash.size() - computed));
    });
  }

  private CompletionStage<JsonNode> persist(Step.Context ctx) {
    JsonNode doc = document(ctx);
    Embedder embedder = embedders.forTenant(ctx.tenantId());
    return item(ctx).thenCompose(item -> {
      if (item == null || item.get(1) == null) {
        return CompletableFuture.completedFuture(skipped());
      }
      List<Chunker.Chunk> chunks = chunks(item);
      String contentHash = ApiKeys.sha256(item.get(0, String.class));
      JsonNode expires = doc.path("expires_at");
      var replaced = ClusterSharding.get(system)
          .entityRefFor(Document.ENTITY_KEY, Document.entityId(ctx.tenantId(), doc.path("doc_id").asText()))
          .<Reply<Document.View>>ask(r -> new Document.Replace(ctx.tenantId(), ctx.runId(), doc.path("source").asText(),
              doc.path("content_type").asText(), doc.path("metadata").isObject() ? doc.path("metadata")
                  : Json.MAPPER.createObjectNode(), expires.isTextual() ? Instant.parse(expires.asText()) : null,
              embedder.name(), chunks, contentHash, r), askTimeout);
      return replaced.thenApply(RunFailure::acceptedOrFail).thenApply(view -> (JsonNode) Json.MAPPER.createObjectNode()
          .put("doc_id", view.docId()).put("version", view.version()).put("chunks", view.chunkCount())
          .put("source", view.source()));
    });
  }

  private CompletionStage<JsonNode> cleanup(Step.Context ctx) {
    List<String> uploads = ctx.input().path("documents").findValuesAsText("upload_id");
    return database.inTenant(ctx.tenantId(), dsl -> {
      dsl.deleteFrom(DSL.table("ingest_items"))
          .where(Database.tenantIs(DSL.field("tenant_id", String.class), ctx.tenantId()))
          .and(DSL.field("run_id", String.class).eq(ctx.runId())).execute();
      dsl.deleteFrom(DSL.table("document_uploads"))
          .where(Database.tenantIs(DSL.field("tenant_id", String.class), ctx.tenantId()))
          .and(DSL.field("upload_id", String.class).in(uploads)).execute();
      return ctx.previousSteps().get("persist");
    });
  }

  private static JsonNode count(Map<String, JsonNode> results, Map<String, String> failures) {
    return Json.MAPPER.createObjectNode().put("done", results.size()).put("failed", failures.size());
  }

  /** The persist step's aggregate: every document's id and version, and the ones that failed. */
  static JsonNode documents(Map<String, JsonNode> results, Map<String, String> failures) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    ArrayNode documents = out.putArray("documents");
    results.entrySet().stream()
        .sorted(Map.Entry.comparingByKey((a, b) -> Integer.compare(Integer.parseInt(a), Integer.parseInt(b))))
        .map(Map.Entry::getValue)
        .filter(r -> !r.path("skipped").asBoolean(false))
        .forEach(documents::add);
    ArrayNode failed = out.putArray("failed");
    failures.forEach((key, error) -> failed.addObject().put("index", Integer.parseInt(key)).put("error", error));
    out.put("ingested", documents.size());
    return out;
  }

  static OffsetDateTime utc(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }
}
