package dev.atrium.rag;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.Replies;
import dev.atrium.core.http.Sse;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.runs.Run;
import dev.atrium.runs.RunView;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The PAID path of {@code POST /v1/repos/ask}: the repository becomes documents of the
 * tenant, once per revision, then the question is answered from retrieval filtered by the
 * repository (and by the caller's user, with {@code documents.repo_scope: user}).
 *
 * <p>Each file is a document whose id comes from the repository's name and the file's path
 * (and the user's id in user scope), so a new revision replaces the documents of the last
 * one in place; files the new revision no longer has are deleted once it is in. Metadata:
 * {@code repo}, {@code user} (the caller's user, else its key), {@code revision},
 * {@code path}, {@code expires_at} ({@code documents.repo_ttl_days} from the ingest; the
 * chunk-expiry job removes the rows then). A revision already ingested is not ingested
 * again ({@code ingest.progress} says {@code cached}).
 */
final class RepoIngest {
  private static final Duration POLL = Duration.ofMillis(200);
  /** How long the answer waits for the vectors projection to show an ingested revision. */
  private static final Duration PROJECTED_WITHIN = Duration.ofSeconds(60);
  private static final int PASSAGES = 6;
  private static final Set<String> ENDED = Set.of("succeeded", "failed", "cancelled");

  private final RagModule module;
  private final java.util.concurrent.Executor blocking;

  RepoIngest(RagModule module) {
    this.module = module;
    this.blocking = module.system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking());
  }

  private record Unpacked(RepoAskRoutes.Archive archive, List<Archives.Entry> entries) {}

  /** The repository's documents: whose they are, and the revision being asked about. */
  private record Scope(String tenantId, String repo, String user, String filterUser, String revision) {}

  /** The answer to a PAID caller's {@code question} about repository {@code repo}, once {@code archive} is read. */
  Route ask(Principal principal, UsageContext usage, String question, String repo,
      CompletionStage<RepoAskRoutes.Archive> archive) {
    Caller caller = Caller.of(principal).orElseThrow();
    TenantConfig tenant = module.tenant(principal.tenantId());
    String user = principal.userId().or(principal::keyId).orElseThrow();
    boolean userScope = tenant.documents().repoScope() == TenantConfig.RepoScope.USER;
    // Unpacking a large archive is CPU and memory work: on the blocking dispatcher, as the FREE path's flatten.
    var unpacked = archive.thenApplyAsync(a -> new Unpacked(a, Archives.unpack(a.bytes(), a.contentType(),
        tenant.documents().maxArchiveFiles(), tenant.documents().maxDocumentBytes())), blocking);
    return onSuccess(unpacked, u -> {
      RepoAskRoutes.Archive a = u.archive();
      List<Archives.Entry> entries = u.entries();
      Scope scope = new Scope(tenant.id(), repo, user, userScope ? user : null, a.revision());
      if (entries.isEmpty()) {
        throw ApiError.badRequest("empty_archive", "The archive holds no text files.");
      }
      Map<String, Object> head = new LinkedHashMap<>();
      head.put("mode", "persistent");
      head.put("repo", repo);
      head.put("revision", a.revision());
      head.put("files", entries.size());
      head.put("chars", entries.stream().filter(e -> e.contentType().startsWith("text/"))
          .mapToInt(e -> new String(e.bytes(), StandardCharsets.UTF_8).length()).sum());
      head.put("truncated", false);
      Source<ByteString, NotUsed> start = Source.single(Sse.event("repo", head));
      return onSuccess(module.queries.repoRevisions(scope.tenantId(), repo, scope.filterUser()), known -> {
        long current = known.values().stream().filter(a.revision()::equals).count();
        if (current > 0) {
          Source<ByteString, NotUsed> cached = Source.single(progress((int) current, (int) current, "cached"));
          return complete(RepoAskRoutes.sse(failSafe(start.concat(cached).concatLazy(answer(usage, question, scope)))));
        }
        List<DocumentRoutes.Pending> pending = pending(scope, entries,
            Instant.now().truncatedTo(ChronoUnit.SECONDS).plus(tenant.documents().repoTtlDays(), ChronoUnit.DAYS));
        return onSuccess(module.ingest(principal, pending), accepted -> {
          String runId = (String) accepted.get("run_id");
          Source<ByteString, NotUsed> ingesting = ingestProgress(caller, runId, pending.size(), scope);
          return complete(RepoAskRoutes.sse(failSafe(start.concatLazy(ingesting).concatLazy(answer(usage, question, scope)))));
        });
      });
    });
  }

  /** A failure after the stream began (the ingest failed, the projection was late) is the {@code error} event. */
  private static Source<ByteString, NotUsed> failSafe(Source<ByteString, NotUsed> events) {
    return events.recover(new org.apache.pekko.japi.pf.PFBuilder<Throwable, ByteString>().match(Throwable.class,
        error -> Sse.event("error", AnswerStream.errorBody(dev.atrium.core.Futures.unwrap(error)))).build());
  }

  private static List<DocumentRoutes.Pending> pending(Scope scope, List<Archives.Entry> entries, Instant expires) {
    String base = "repo:" + scope.repo() + (scope.filterUser() != null ? "@" + scope.filterUser() : "");
    List<DocumentRoutes.Pending> pending = new ArrayList<>();
    for (Archives.Entry entry : entries) {
      ObjectNode metadata = Json.MAPPER.createObjectNode()
          .put("repo", scope.repo()).put("user", scope.user()).put("revision", scope.revision())
          .put("path", entry.path()).put("expires_at", expires.toString());
      pending.add(new DocumentRoutes.Pending(DocumentRoutes.archiveDocId(base + "/" + entry.path()), entry.path(),
          entry.contentType(), entry.bytes(), metadata, expires));
    }
    return pending;
  }

  static ByteString progress(int done, int total, String status) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("files_done", done);
    json.put("files_total", total);
    json.put("status", status);
    return Sse.event("ingest.progress", json);
  }

  /**
   * {@code ingest.progress} while the run ingests (files persisted so far), then, once the
   * run has succeeded and the projection shows the revision's documents, one with
   * {@code done}; files the revision no longer has are deleted before it. A failed run
   * fails the stream (an {@code error} event).
   */
  private Source<ByteString, NotUsed> ingestProgress(Caller caller, String runId, int total, Scope scope) {
    AtomicInteger reported = new AtomicInteger(0);
    AtomicReference<RunView> last = new AtomicReference<>();
    Source<ByteString, NotUsed> polled = Source.tick(Duration.ZERO, POLL, "poll")
        .mapAsync(1, tick -> run(caller, runId))
        .takeWhile(view -> !ENDED.contains(view.status()), true)
        .mapConcat(view -> {
          last.set(view);
          int done = persisted(view);
          if (ENDED.contains(view.status()) || done == reported.get()) {
            return List.<ByteString>of();
          }
          reported.set(done);
          return List.of(progress(done, total, "ingesting"));
        })
        .mapMaterializedValue(m -> NotUsed.getInstance());
    Source<ByteString, NotUsed> finished = Source.lazyCompletionStage(() -> {
      RunView view = last.get();
      if (view == null || !view.status().equals("succeeded")) {
        throw new ApiError(org.apache.pekko.http.javadsl.model.StatusCodes.BAD_GATEWAY, "ingest_failed",
            "The repository's ingest run " + runId + " ended " + (view == null ? "unknown" : view.status())
                + (view != null && view.error() != null ? ": " + view.error() : "") + ".");
      }
      int ingested = view.result() == null ? 0 : view.result().path("ingested").asInt(0);
      return poll(() -> module.queries.repoRevisions(scope.tenantId(), scope.repo(), scope.filterUser()),
          known -> known.values().stream().filter(scope.revision()::equals).count() >= ingested, PROJECTED_WITHIN)
          .thenCompose(known -> removeStale(scope, known))
          .thenApply(done -> progress(ingested, total, "done"));
    }).mapMaterializedValue(m -> NotUsed.getInstance());
    // concatLazy: what follows is materialised (the run polled, the projection awaited) only once its turn comes.
    return Source.single(progress(0, total, "ingesting")).concatLazy(polled).concatLazy(finished);
  }

  /** Files of the last revision that this one no longer has: deleted, so the answer cites only this revision. */
  private CompletionStage<Void> removeStale(Scope scope, Map<String, String> known) {
    CompletableFuture<?>[] deletions = known.entrySet().stream()
        .filter(e -> !scope.revision().equals(e.getValue()))
        .map(e -> module.document(scope.tenantId(), e.getKey(), true).toCompletableFuture())
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(deletions);
  }

  /** Documents the run has persisted so far: its persist step's finished sub-steps. */
  private static int persisted(RunView view) {
    return view.steps().stream().filter(s -> s.name().equals("persist"))
        .mapToInt(s -> s.done() + s.failed()).findFirst().orElse(0);
  }

  private CompletionStage<RunView> run(Caller caller, String runId) {
    return Replies.<Run.Command, RunView>ask(ClusterSharding.get(module.system).entityRefFor(Run.ENTITY_KEY, runId),
        (org.apache.pekko.actor.typed.ActorRef<Reply<RunView>> r) -> new Run.Get(caller, r),
        Duration.ofSeconds(5), "run");
  }

  /** {@code check} until {@code done} holds, every {@link #POLL}, for at most {@code within}. */
  private <T> CompletionStage<T> poll(Supplier<CompletionStage<T>> check, Predicate<T> done, Duration within) {
    Instant deadline = Instant.now().plus(within);
    return check.get().thenCompose(value -> {
      if (done.test(value)) {
        return CompletableFuture.completedFuture(value);
      }
      if (Instant.now().isAfter(deadline)) {
        throw ApiError.unavailable("The repository's documents did not become searchable in time; ask again.");
      }
      return Patterns.after(POLL, Adapter.toClassic(module.system).scheduler(), module.system.executionContext(),
          () -> poll(check, done, Duration.between(Instant.now(), deadline)));
    });
  }

  /**
   * Citations, then the answer from the repository's passages (the tenant filter always
   * applies: another tenant's repository of the same name is never read).
   */
  private Source<ByteString, NotUsed> answer(UsageContext usage, String question, Scope scope) {
    Retriever.Filters filters = new Retriever.Filters(List.of(), scope.repo(), scope.filterUser(), List.of(), null);
    return Source.lazyCompletionStageSource(() -> module.retriever.retrieve(usage, question, PASSAGES, filters)
            .thenApply(hits -> {
              List<Passage> passages = Retriever.passages(hits);
              if (passages.isEmpty()) {
                return Source.from(List.of(Sse.event("delta", Map.of("text",
                        "No passage of the repository matches this question.")),
                    Sse.event("usage", Map.of("tokens_in", 0, "tokens_out", 0)),
                    Sse.event("done", Map.of("finish_reason", "stop"))));
              }
              ModelGateway.Route route = module.gateway.resolve(usage.tenantId(), ModelTask.SEARCH_ANSWER, null)
                  .orElseThrow();
              UsageRecord.Call call = UsageRecord.start(usage, UsageRecord.REPO_ANSWER, route);
              Source<ByteString, NotUsed> citations = Source.from(passages.stream()
                  .map(p -> Sse.event("citation", Passage.citation(p))).toList());
              return citations.concatLazy(new AnswerStream(module.gateway, route, RepoAskRoutes.messages(question),
                  passages, call).events());
            }))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }
}
