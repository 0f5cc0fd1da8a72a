package dev.atrium.gateway.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.typesafe.config.Config;
import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.jobs.Jobs;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.core.tenant.Tier;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.ChatResult;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.usage.UsageRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster-wide response cache (tenant feature {@code response_cache}): an exact-match
 * cache of complete answers, keyed by {@link CacheKey} (tenant, model, normalised request),
 * kept for the tenant's {@code response_cache.ttl_seconds}. Each node holds a Caffeine cache
 * in front of the shared {@code response_cache} table, so an answer stored by one node is a
 * hit on every other: a node that misses locally reads the table (off the request threads)
 * and keeps what it finds until the row's own expiry.
 *
 * <p>The gateway wraps its metered calls in {@link #stream} and {@link #complete}, handing
 * over the miss path (the upstream call and whatever precedes it) as a supplier that is only
 * called on a miss. A call is the cache's when the tenant has the feature, the call is not
 * FREE-tier and its route does not start on the caller's own provider key; the client's
 * {@code cache-control} ({@link CacheDirective}) may skip the read or the write. Stored are
 * only answers that end cleanly and completely ({@link CachedAnswer#of}); a failed,
 * cancelled or interrupted stream stores nothing. A failure of the table is a miss (or a
 * write lost), never a failed call.
 */
public final class ResponseCache {
  private static final Logger LOG = LoggerFactory.getLogger(ResponseCache.class);

  /** A cache that serves nothing: for gateways without a database (unit tests). */
  public static final ResponseCache OFF = new ResponseCache(null, null, 0, Duration.ZERO);

  /** An answer and until when it may be served. */
  record Entry(CachedAnswer answer, Instant expiresAt) {}

  /** The shared tier: the table, or a stand-in in tests. */
  interface Store {
    CompletionStage<Optional<Entry>> read(CacheKey key);

    CompletionStage<Integer> write(CacheKey key, Entry entry);
  }

  private final TenantRegistry tenants;
  private final Store store;
  private final Cache<CacheKey, Entry> local;
  private final Duration readTimeout;

  ResponseCache(TenantRegistry tenants, Store store, long localEntries, Duration readTimeout) {
    this.tenants = tenants;
    this.store = store;
    this.readTimeout = readTimeout;
    this.local = Caffeine.newBuilder()
        .maximumSize(localEntries)
        .expireAfter(new Expiry<CacheKey, Entry>() {
          @Override
          public long expireAfterCreate(CacheKey key, Entry entry, long currentTime) {
            return Math.max(0, Duration.between(Instant.now(), entry.expiresAt()).toNanos());
          }

          @Override
          public long expireAfterUpdate(CacheKey key, Entry entry, long currentTime, long currentDuration) {
            return expireAfterCreate(key, entry, currentTime);
          }

          @Override
          public long expireAfterRead(CacheKey key, Entry entry, long currentTime, long currentDuration) {
            return currentDuration;
          }
        })
        .build();
  }

  /**
   * The node's cache ({@code atrium.response-cache}) on the service role's database, with its
   * prune job registered in {@code jobs} (before the scheduler starts).
   */
  public static ResponseCache start(ActorSystem<?> system, TenantRegistry tenants, Jobs jobs) {
    Config config = system.settings().config().getConfig("atrium.response-cache");
    jobs.register(ResponseCachePrune.job(ProjectionDatabase.get(system)));
    return new ResponseCache(tenants, new ResponseCacheTable(DatabaseExtension.get(system).database()),
        config.getLong("local-max-entries"), config.getDuration("read-timeout"));
  }

  /**
   * The answer of {@code request} on {@code route} for {@code call}: from the cache on a hit
   * (its text, usage and finish replayed as events), else {@code miss}'s stream, whose answer
   * is stored when it completes cleanly. The call says which before the first event.
   */
  public Source<ChatEvent, NotUsed> stream(ModelGateway.Route route, ChatRequest request, UsageRecord.Call call,
      Supplier<Source<ChatEvent, NotUsed>> miss) {
    Optional<Lookup> eligible = eligible(route, request, call);
    if (eligible.isEmpty()) {
      return miss.get();
    }
    Lookup lookup = eligible.get();
    Entry near = lookup.directive().reads() ? local.getIfPresent(lookup.key()) : null;
    if (near != null) {
      call.cacheStatus(CacheStatus.HIT);
      return Source.from(near.answer().events());
    }
    if (!lookup.directive().reads()) {
      call.cacheStatus(CacheStatus.BYPASS);
      return storing(lookup, miss.get());
    }
    return Source.lazyCompletionStageSource(() -> shared(lookup.key()).thenApply(found -> {
          if (found.isPresent()) {
            call.cacheStatus(CacheStatus.HIT);
            return Source.from(found.get().answer().events());
          }
          call.cacheStatus(CacheStatus.MISS);
          return storing(lookup, miss.get());
        }))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** The whole answer, as {@link #stream} gives it: from the cache on a hit, else {@code miss}'s, stored when complete. */
  public CompletionStage<ChatResult> complete(ModelGateway.Route route, ChatRequest request, UsageRecord.Call call,
      Supplier<CompletionStage<ChatResult>> miss) {
    Optional<Lookup> eligible = eligible(route, request, call);
    if (eligible.isEmpty()) {
      return miss.get();
    }
    Lookup lookup = eligible.get();
    CompletionStage<Optional<Entry>> found = !lookup.directive().reads()
        ? CompletableFuture.completedFuture(Optional.empty())
        : Optional.ofNullable(local.getIfPresent(lookup.key()))
            .<CompletionStage<Optional<Entry>>>map(e -> CompletableFuture.completedFuture(Optional.of(e)))
            .orElseGet(() -> shared(lookup.key()));
    return found.thenCompose(entry -> {
      if (entry.isPresent()) {
        call.cacheStatus(CacheStatus.HIT);
        return CompletableFuture.completedFuture(entry.get().answer().result());
      }
      call.cacheStatus(lookup.directive().reads() ? CacheStatus.MISS : CacheStatus.BYPASS);
      return miss.get().thenApply(result -> {
        if (lookup.directive().writes()) {
          CachedAnswer.of(result).ifPresent(answer -> put(lookup, answer));
        }
        return result;
      });
    });
  }

  /** A call the cache serves: its key, TTL and what the client asked. */
  private record Lookup(CacheKey key, Duration ttl, CacheDirective directive) {}

  private Optional<Lookup> eligible(ModelGateway.Route route, ChatRequest request, UsageRecord.Call call) {
    if (store == null || route.byo() || call.byo() || Tier.FREE.name().equals(call.context().tier())) {
      return Optional.empty();
    }
    Optional<TenantConfig> tenant = tenants.byId(call.context().tenantId());
    if (tenant.isEmpty() || !tenant.get().features().responseCache()) {
      return Optional.empty();
    }
    CacheDirective directive = call.cacheDirective();
    if (!directive.reads() && !directive.writes()) {
      call.cacheStatus(CacheStatus.BYPASS);
      return Optional.empty();
    }
    return Optional.of(new Lookup(CacheKey.of(tenant.get().id(), route.model(), request),
        Duration.ofSeconds(tenant.get().responseCache().ttlSeconds()), directive));
  }

  /** The shared table's entry, kept on this node when found; a failed or slow read is a miss. */
  private CompletionStage<Optional<Entry>> shared(CacheKey key) {
    return store.read(key).toCompletableFuture()
        .orTimeout(readTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle((entry, error) -> {
          if (error != null) {
            LOG.warn("response cache read failed for tenant {}, answering as a miss: {}", key.tenantId(),
                dev.atrium.core.Futures.unwrap(error).getClass().getSimpleName());
            return Optional.<Entry>empty();
          }
          entry.ifPresent(e -> local.put(key, e));
          return entry;
        });
  }

  private Source<ChatEvent, NotUsed> storing(Lookup lookup, Source<ChatEvent, NotUsed> answer) {
    return answer.via(new AnswerCollector(collected -> put(lookup, collected)));
  }

  /** Keeps the answer on this node and writes it to the table behind the call (a lost write costs a miss). */
  private void put(Lookup lookup, CachedAnswer answer) {
    Entry entry = new Entry(answer, Instant.now().plus(lookup.ttl()));
    local.put(lookup.key(), entry);
    store.write(lookup.key(), entry).whenComplete((rows, error) -> {
      if (error != null) {
        LOG.warn("response cache write failed for tenant {}: {}", lookup.key().tenantId(),
            dev.atrium.core.Futures.unwrap(error).getClass().getSimpleName());
      }
    });
  }

  /** Forgets what this node holds (tests: the next read goes to the table). */
  void clearLocal() {
    local.invalidateAll();
  }
}
