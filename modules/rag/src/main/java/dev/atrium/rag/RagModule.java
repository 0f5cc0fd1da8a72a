package dev.atrium.rag;

import static org.apache.pekko.http.javadsl.server.Directives.concat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.Replies;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.jobs.Jobs;
import dev.atrium.core.net.OutboundFetch;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.runs.RunStarter;
import dev.atrium.runs.RunTypes;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The rag module: the Document entity, the vectors projection, the {@code ingest} run type
 * (registered in the node's {@link RunTypes}), embedders, the {@code chunk-expiry} job
 * (registered in the node's {@link Jobs}), and the document, embedding and search routes.
 */
public final class RagModule {
  private static final Pattern DOC_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  final ActorSystem<?> system;
  final TenantDirectives tenants;
  final Embedders embedders;
  final DocumentQueries queries;
  final IngestRunType ingest;
  final Retriever retriever;
  final SearchService search;
  final EmbeddingMeter meter;
  final ModelGateway gateway;
  final RepoIngest repoIngest;
  private final RunStarter runs;
  private final RepoAskRoutes repoAsk;
  private final Duration askTimeout;

  private RagModule(ActorSystem<?> system, TenantDirectives tenants, ModelGateway gateway, RunStarter runs) {
    this.system = system;
    this.tenants = tenants;
    this.runs = runs;
    this.embedders = new Embedders(system, tenants.registry(), gateway.secrets());
    var database = DatabaseExtension.get(system).database();
    this.queries = new DocumentQueries(database);
    this.meter = new EmbeddingMeter(gateway.usage());
    this.gateway = gateway;
    this.ingest = new IngestRunType(system, tenants.registry(), database, embedders, meter);
    this.retriever = new Retriever(database, embedders, meter, Retriever.Reranker.NONE);
    this.search = new SearchService(database, retriever, gateway,
        system.settings().config().getDuration("atrium.rag.search-cache-ttl"));
    this.askTimeout = system.settings().config().getDuration("atrium.http.ask-timeout");
    this.repoIngest = new RepoIngest(this);
    // A repository's source_url comes from a request: fetched through the guard's request policy.
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    this.repoAsk = new RepoAskRoutes(this, OutboundFetch.fromConfig(system.settings().config(), blocking), blocking);
  }

  /**
   * Registers {@code ingest} in {@code runTypes} (before the runs module starts) and the
   * chunk-expiry job in {@code jobs} (before the scheduler starts), and starts the entity and
   * the projection; uploads start their ingest runs through {@code runs}.
   */
  public static RagModule start(ActorSystem<?> system, TenantDirectives tenants, ModelGateway gateway,
      RunTypes runTypes, RunStarter runs, Jobs jobs) {
    RagModule rag = new RagModule(system, tenants, gateway, runs);
    runTypes.register(rag.ingest);
    jobs.register(ChunkExpiry.job(ProjectionDatabase.get(system)));
    Document.init(system);
    VectorsProjection.init(system);
    return rag;
  }

  /** Retrieval for other modules (chat). */
  public Retriever retriever() {
    return retriever;
  }

  TenantConfig tenant(String tenantId) {
    return tenants.registry().byId(tenantId).orElseThrow();
  }

  public Embedders embedders() {
    return embedders;
  }

  /**
   * Stages the uploads and starts their ingest run, owned by {@code principal} (its user,
   * else its key): the 202 body. The documents themselves are the tenant's (see
   * {@link DocumentRoutes}).
   */
  CompletionStage<Map<String, Object>> ingest(Principal principal, List<DocumentRoutes.Pending> pending) {
    String tenantId = principal.tenantId();
    return queries.stage(tenantId, pending, tenant(tenantId).documents().maxDocuments()).thenCompose(uploads -> {
      ObjectNode input = Json.MAPPER.createObjectNode();
      ArrayNode documents = input.putArray("documents");
      for (int i = 0; i < pending.size(); i++) {
        DocumentRoutes.Pending p = pending.get(i);
        ObjectNode doc = documents.addObject().put("upload_id", uploads.get(i)).put("doc_id", p.docId())
            .put("source", p.source()).put("content_type", p.contentType());
        doc.set("metadata", p.metadata());
        if (p.expiresAt() != null) {
          doc.put("expires_at", p.expiresAt().toString());
        }
      }
      return runs.start(principal, IngestRunType.NAME, input).thenApply(run -> {
        Map<String, Object> accepted = new LinkedHashMap<>();
        accepted.put("run_id", run.runId());
        accepted.put("status", run.status());
        accepted.put("poll_url", "/v1/runs/" + run.runId());
        accepted.put("events_url", "/v1/runs/" + run.runId() + "/events");
        accepted.put("documents", pending.stream().map(p -> Map.of("id", p.docId(), "source", p.source())).toList());
        return accepted;
      });
    });
  }

  /** A document of the tenant (or its deletion): 404 for an unknown one or another tenant's. */
  CompletionStage<Document.View> document(String tenantId, String docId, boolean delete) {
    if (!DOC_ID.matcher(docId).matches()) {
      throw ApiError.notFound(Document.NO_SUCH_DOCUMENT);
    }
    var entity = ClusterSharding.get(system).entityRefFor(Document.ENTITY_KEY, Document.entityId(tenantId, docId));
    return delete
        ? Replies.<Document.Command, Done>ask(entity, r -> new Document.Delete(tenantId, r), askTimeout, "document")
            .thenApply(done -> null)
        : Replies.ask(entity, r -> new Document.Get(tenantId, r), askTimeout, "document");
  }

  public Route publicRoutes() {
    return concat(new DocumentRoutes(this).route(), new EmbeddingRoutes(this).route(), new SearchRoutes(this).route(),
        repoAsk.route());
  }
}
