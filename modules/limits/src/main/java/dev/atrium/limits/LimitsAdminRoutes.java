package dev.atrium.limits;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.delete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import dev.atrium.core.db.Database;
import java.sql.Connection;
import java.sql.SQLException;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.Replies;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.jooq.impl.DSL;

/**
 * Admin inspection of a tenant's buckets (admin port, behind the admin token). Active
 * buckets write their state at least once a second while used, so the durable-state rows
 * written recently are the buckets alive in the cluster; each is asked for its tokens now.
 */
final class LimitsAdminRoutes {
  /** A bucket idle longer than sharding's passivation timeout is no longer alive. */
  private static final Duration ACTIVE_WINDOW = Duration.ofMinutes(3);
  private static final int MAX_LISTED = 500;

  private final ClusterSharding sharding;
  private final TenantRegistry tenants;
  private final SystemReads reads;
  private final Duration askTimeout;

  LimitsAdminRoutes(ActorSystem<?> system, TenantRegistry tenants, SystemReads reads) {
    this.sharding = ClusterSharding.get(system);
    this.tenants = tenants;
    this.reads = reads;
    this.askTimeout = system.settings().config().getDuration("atrium.http.ask-timeout");
  }

  Route route() {
    return pathPrefix(PathMatchers.segment("tenants").slash(PathMatchers.segment()).slash("limits"), tenantId -> {
      if (tenants.byId(tenantId).isEmpty()) {
        throw ApiError.notFound("No tenant '" + tenantId + "'.");
      }
      return concat(
          pathEndOrSingleSlash(() -> get(() -> onSuccess(list(tenantId), JsonRoutes::json))),
          pathPrefix(PathMatchers.remaining(), clientKey -> concat(
              get(() -> onSuccess(inspect(tenantId, clientKey), view -> JsonRoutes.json(json(view)))),
              delete(() -> onSuccess(reset(tenantId, clientKey), done -> complete(StatusCodes.NO_CONTENT))))));
    });
  }

  private CompletionStage<Map<String, Object>> list(String tenantId) {
    String prefix = TokenBucket.ENTITY_KEY.name() + "|" + tenantId + ":";
    long since = Instant.now().minus(ACTIVE_WINDOW).toEpochMilli();
    // durable_state holds every tenant's entities and has no tenant column, so row-level
    // security cannot fence it and only the system role reads it (V18); the persistence id
    // prefix is the tenant filter.
    CompletionStage<List<String>> keys = CompletableFuture.supplyAsync(() -> {
      try (Connection connection = reads.pool().getConnection()) {
        connection.setAutoCommit(true);
        return Database.dsl(connection)
            .select(DSL.field("persistence_id", String.class))
            .from(DSL.table("durable_state"))
            .where(DSL.field("persistence_id", String.class).startsWith(prefix))
            .and(DSL.field("state_timestamp", Long.class).ge(since))
            .orderBy(DSL.field("persistence_id"))
            .limit(MAX_LISTED)
            .fetch(0, String.class).stream().map(id -> id.substring(prefix.length())).toList();
      } catch (SQLException e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }, reads.executor());
    return keys.thenCompose(clientKeys -> {
      List<CompletableFuture<Map<String, Object>>> views = new ArrayList<>();
      for (String key : clientKeys) {
        views.add(inspect(tenantId, key).thenApply(LimitsAdminRoutes::json)
            .exceptionally(e -> null).toCompletableFuture());
      }
      return CompletableFuture.allOf(views.toArray(CompletableFuture[]::new)).thenApply(v -> {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("buckets", views.stream().map(CompletableFuture::join).filter(java.util.Objects::nonNull).toList());
        return body;
      });
    });
  }

  private CompletionStage<TokenBucket.View> inspect(String tenantId, String clientKey) {
    return clientKey.isEmpty() ? noSuchBucket()
        : Replies.ask(bucket(tenantId, clientKey), r -> new TokenBucket.Inspect(tenantId, r), askTimeout, "bucket");
  }

  private CompletionStage<Done> reset(String tenantId, String clientKey) {
    return clientKey.isEmpty() ? noSuchBucket()
        : Replies.ask(bucket(tenantId, clientKey), r -> new TokenBucket.Reset(tenantId, r), askTimeout, "bucket");
  }

  private EntityRef<TokenBucket.Command> bucket(String tenantId, String clientKey) {
    return sharding.entityRefFor(TokenBucket.ENTITY_KEY, TokenBucket.entityId(tenantId, clientKey));
  }

  /** No bucket has an empty key ({@code DELETE .../limits/}): the answer a bucket never used gives. */
  private static <T> CompletionStage<T> noSuchBucket() {
    return CompletableFuture.failedStage(ApiError.notFound("No such bucket."));
  }

  static Map<String, Object> json(TokenBucket.View v) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("client_key", v.clientKey());
    json.put("tokens", Math.floor(v.tokens() * 1000) / 1000);
    json.put("capacity", v.capacity());
    json.put("refill_per_second", v.refillPerSecond());
    json.put("last_refill", v.lastRefill());
    json.put("last_write", v.lastWrite());
    json.put("open_slots", v.openSlots());
    json.put("revision", v.revision());
    return json;
  }
}
