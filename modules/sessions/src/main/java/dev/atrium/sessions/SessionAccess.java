package dev.atrium.sessions;

import dev.atrium.core.entity.Reply;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.Replies;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/** The routes' way to a session: its entity, asked with the HTTP ask timeout, rejections as HTTP errors. */
record SessionAccess(ClusterSharding sharding, Duration askTimeout) {
  private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** The tenant's session; an id no session can have is 404 before any entity is asked. */
  EntityRef<ChatSession.Command> session(String tenantId, String sessionId) {
    if (!SESSION_ID.matcher(sessionId).matches()) {
      throw ApiError.notFound("No such session.");
    }
    return sharding.entityRefFor(ChatSession.ENTITY_KEY, ChatSession.entityId(tenantId, sessionId));
  }

  <T> CompletionStage<T> ask(String tenantId, String sessionId,
      Function<ActorRef<Reply<T>>, ChatSession.Command> command) {
    return Replies.ask(session(tenantId, sessionId), command, askTimeout, "session");
  }
}
