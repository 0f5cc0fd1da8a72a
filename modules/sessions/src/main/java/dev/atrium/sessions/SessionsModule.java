package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;

import com.typesafe.config.Config;
import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.RouteClass;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.core.tenant.Tier;
import dev.atrium.gateway.ModelGateway;
import java.time.Duration;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The sessions module: the ChatSession entity and its projection, the native session and
 * chat routes, the OpenAI-compatible {@code /v1/chat/completions}, and the admin routes.
 */
public final class SessionsModule {
  private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  final ActorSystem<?> system;
  final TenantDirectives tenants;
  final ModelGateway gateway;
  final SessionQueries queries;
  final ClusterSharding sharding;
  final Duration askTimeout;
  final Duration heartbeat;
  final Duration leaseRenewal;
  final dev.atrium.rag.Retriever retriever;

  private SessionsModule(ActorSystem<?> system, TenantDirectives tenants, ModelGateway gateway,
      dev.atrium.rag.Retriever retriever) {
    this.system = system;
    this.tenants = tenants;
    this.gateway = gateway;
    this.retriever = retriever;
    this.queries = new SessionQueries(DatabaseExtension.get(system).database());
    this.sharding = ClusterSharding.get(system);
    Config config = system.settings().config();
    this.askTimeout = config.getDuration("atrium.http.ask-timeout");
    this.heartbeat = config.getDuration("atrium.sessions.heartbeat-interval");
    this.leaseRenewal = config.getDuration("atrium.sessions.lease-renewal-interval");
  }

  /** Starts the entity and its projection, and returns the module's routes. */
  public static SessionsModule start(ActorSystem<?> system, TenantDirectives tenants, ModelGateway gateway,
      dev.atrium.rag.Retriever retriever) {
    ChatSession.init(system, tenants.registry());
    ChatSessionProjection.init(system);
    return new SessionsModule(system, tenants, gateway, retriever);
  }

  /**
   * Passages for a turn that asks for retrieval: the request's {@code rag}, else the
   * session's, else the tenant's {@code documents.chat_retrieval}. A failed retrieval
   * answers without passages rather than failing the turn.
   */
  java.util.concurrent.CompletionStage<java.util.List<dev.atrium.gateway.Passage>> passages(
      String tenantId, Boolean requested, Boolean session, String question) {
    boolean rag = requested != null ? requested
        : session != null ? session : tenants.registry().byId(tenantId).orElseThrow().documents().chatRetrieval();
    if (!rag) {
      return java.util.concurrent.CompletableFuture.completedFuture(java.util.List.of());
    }
    return retriever.retrieve(tenantId, question, 4, dev.atrium.rag.Retriever.Filters.NONE)
        .thenApply(dev.atrium.rag.Retriever::passages)
        .exceptionally(e -> java.util.List.of());
  }

  /** The context with the passages as a numbered system message after the session's own. */
  static java.util.List<com.fasterxml.jackson.databind.node.ObjectNode> withPassages(
      java.util.List<com.fasterxml.jackson.databind.node.ObjectNode> context,
      java.util.List<dev.atrium.gateway.Passage> passages) {
    if (passages.isEmpty()) {
      return context;
    }
    StringBuilder text = new StringBuilder("Passages from the tenant's documents. Use them when they answer the "
        + "question and cite them like [1].\n\n");
    passages.forEach(p -> text.append('[').append(p.index()).append("] (").append(p.source()).append(") ")
        .append(p.text()).append("\n\n"));
    java.util.List<com.fasterxml.jackson.databind.node.ObjectNode> out = new java.util.ArrayList<>(context);
    int at = !context.isEmpty() && "system".equals(context.get(0).path("role").asText()) ? 1 : 0;
    out.add(at, dev.atrium.gateway.Messages.of("system", text.toString().strip()));
    return out;
  }

  public Route publicRoutes() {
    return concat(new SessionRoutes(this).route(), new ChatCompletionsRoutes(this).route());
  }

  /** Routes under {@code /admin} on the admin port (the token is checked by the server). */
  public Route adminRoutes() {
    return new SessionAdminRoutes(this).route();
  }

  TenantRegistry registry() {
    return tenants.registry();
  }

  TenantConfig tenant(Principal principal) {
    return registry().byId(principal.tenantId()).orElseThrow();
  }

  EntityRef<ChatSession.Command> session(String tenantId, String sessionId) {
    if (!SESSION_ID.matcher(sessionId).matches()) {
      throw ApiError.notFound("No such session.");
    }
    return sharding.entityRefFor(ChatSession.ENTITY_KEY, ChatSession.entityId(tenantId, sessionId));
  }

  static boolean validSessionId(String id) {
    return SESSION_ID.matcher(id).matches();
  }

  /**
   * Runs {@code inner} with a stream slot of the caller's client and tenant; over a cap the
   * request is answered 429 at once. {@code inner} owns the slot: the stream releases it
   * when it ends, every other outcome must release it.
   */
  Route withStreamSlot(Principal principal, RouteClass routeClass, java.util.function.Function<StreamSlot, Route> inner) {
    TenantConfig tenant = tenant(principal);
    return onComplete(tenants.limiter().openStream(principal, routeClass), result -> {
      StreamSlot slot;
      if (result.isFailure()) {
        if (tenant.onLimiterUnavailable() != TenantConfig.OnLimiterUnavailable.ALLOW) {
          throw ApiError.unavailable("The stream limiter did not answer in time; try again.")
              .withHeader(RawHeader.create("Retry-After", "1"));
        }
        slot = StreamSlot.UNLIMITED;
      } else {
        slot = result.get();
      }
      if (!slot.granted()) {
        throw new ApiError(StatusCodes.TOO_MANY_REQUESTS, "stream_limit_exceeded",
            "Too many open streams for this " + slot.deniedBy() + " (at most " + slot.cap()
                + " at once); close one or try again shortly.")
            .withHeader(RawHeader.create("Retry-After", "1"));
      }
      try {
        return inner.apply(slot);
      } catch (RuntimeException e) {
        slot.release();
        throw e;
      }
    });
  }

  /**
   * Starts a turn. When the entity does not answer in time the turn may still have been
   * recorded: it is ended at once (interrupted, empty) so the session is not left leased
   * until the lease runs out.
   */
  java.util.concurrent.CompletionStage<ChatSession.TurnReply> startTurn(EntityRef<ChatSession.Command> session,
      ChatSession.Caller caller, String content, String model, String idempotencyKey) {
    String turnId = ChatSession.newId();
    return session.<ChatSession.TurnReply>askWithStatus(
            r -> new ChatSession.StartTurn(caller, content, model, idempotencyKey, turnId, r), askTimeout)
        .whenComplete((reply, error) -> {
          if (error instanceof java.util.concurrent.TimeoutException
              || error instanceof java.util.concurrent.CompletionException
                  && error.getCause() instanceof java.util.concurrent.TimeoutException) {
            session.tell(new ChatSession.CompleteTurn(caller, turnId, "", 0, 0, true, "start_timed_out",
                system.ignoreRef()));
          }
        });
  }

  /** Sessions persist on the caller's behalf: FREE (and anonymous) callers are stateless. */
  static ChatSession.Caller persistentCaller(Principal principal) {
    if (principal.tier() != Tier.PAID || principal.keyId().isEmpty()) {
      throw ApiError.forbidden("sessions_need_paid_key",
          "Chat sessions are stored on the caller's behalf and need a PAID API key; FREE requests are stateless.");
    }
    return new ChatSession.Caller(principal.tenantId(), principal.keyId().get());
  }
}
