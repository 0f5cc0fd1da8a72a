package dev.atrium.sessions;

import static org.apache.pekko.http.javadsl.server.Directives.concat;

import com.typesafe.config.Config;
import dev.atrium.core.db.DatabaseExtension;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.rag.Retriever;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The sessions module, wired: the ChatSession entity and its projection, the native session
 * and chat routes, the OpenAI-compatible {@code /v1/chat/completions}, the Anthropic-compatible
 * {@code /v1/messages}, and the admin routes.
 * A chat turn's orchestration is {@link ChatTurn}'s; the routes render its framing.
 */
public final class SessionsModule {
  private final Route publicRoutes;
  private final Route adminRoutes;

  private SessionsModule(Route publicRoutes, Route adminRoutes) {
    this.publicRoutes = publicRoutes;
    this.adminRoutes = adminRoutes;
  }

  /** Starts the entity and its projection, and builds the module's routes. */
  public static SessionsModule start(ActorSystem<?> system, TenantDirectives tenants, ModelGateway gateway,
      Retriever retriever) {
    ChatSession.init(system, tenants.registry());
    ChatSessionProjection.init(system);
    Config config = system.settings().config();
    // The HTTP layer's ask timeout: shorter than the request timeout, so clients get our 503.
    Duration askTimeout = config.getDuration("atrium.http.ask-timeout");
    Config sessions = config.getConfig("atrium.sessions");
    Duration heartbeat = sessions.getDuration("heartbeat-interval");
    SessionAccess access = new SessionAccess(ClusterSharding.get(system), askTimeout);
    SessionQueries queries = new SessionQueries(DatabaseExtension.get(system).database());
    ChatTurn.Settings turns = new ChatTurn.Settings(system, gateway, retriever, tenants.registry(), askTimeout,
        sessions.getDuration("lease-renewal-interval"));
    ChatDoor door = new ChatDoor(tenants, access, turns);
    Route publicRoutes = concat(
        new SessionRoutes(tenants, access, queries, gateway, new TurnRoutes(tenants, access, turns, heartbeat)).route(),
        new ChatCompletionsRoutes(door, heartbeat).route(),
        new MessagesRoutes(door, heartbeat).route());
    return new SessionsModule(publicRoutes, new SessionAdminRoutes(tenants.registry(), access, queries).route());
  }

  public Route publicRoutes() {
    return publicRoutes;
  }

  /** Routes under {@code /admin} on the admin port (the token is checked by the server). */
  public Route adminRoutes() {
    return adminRoutes;
  }
}
