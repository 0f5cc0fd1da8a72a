package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import dev.atrium.core.entity.Reply;
import dev.atrium.gateway.ChatMessage;
import org.junit.jupiter.api.Test;

/** The entity on the real journal: events and snapshots in PostgreSQL survive the actor system. */
class ChatSessionPersistenceTest {
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  static final Caller OWNER = Caller.of("acme", Owner.key("k_1"));
  static final ChatSession.Policy POLICY = new ChatSession.Policy(8192, 1000, Duration.ofDays(30), Duration.ofSeconds(60));

  static <T> T ask(ActorTestKit kit, ActorRef<ChatSession.Command> ref,
      Function<ActorRef<Reply<T>>, ChatSession.Command> command) throws Exception {
    return AskPattern.<ChatSession.Command, Reply<T>>ask(ref, command::apply, TIMEOUT, kit.scheduler())
        .toCompletableFuture().get().orElseThrow();
  }

  /** The one number a query answers, read as the owner. */
  static long single(DatabaseSettings db, String query) throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
         ResultSet rs = c.createStatement().executeQuery(query)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The session {@code id} on {@code kit}, created. */
  static ActorRef<ChatSession.Command> created(ActorTestKit kit, String id) throws Exception {
    var session = kit.spawn(ChatSession.create(id, Clock.systemUTC(), POLICY));
    ChatSessionPersistenceTest.<ChatSession.SessionView>ask(kit, session,
        r -> new ChatSession.Create(OWNER, "t", null, "local", r));
    return session;
  }

  static void turn(ActorTestKit kit, ActorRef<ChatSession.Command> session, String question, String answer) throws Exception {
    ChatSession.TurnReply reply = ChatSessionPersistenceTest.<ChatSession.TurnReply>ask(kit, session,
        r -> new ChatSession.StartTurn(OWNER, question, null, null, r));
    String turnId = ((ChatSession.Started) reply).turn().turnId();
    ChatSessionPersistenceTest.<SessionState.Message>ask(kit, session,
        r -> new ChatSession.CompleteTurn(OWNER, turnId, answer, 5, 3, false, "stop", r));
  }

  @Test
  void persistsAndRecoversFromPostgresInANewActorSystem() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("chat_session_persistence");
    String id = ChatSession.entityId("acme", "durable");

    ActorTestKit first = ActorTestKit.create("first", TestConfig.forDatabase(db));
    try {
      turn(first, created(first, id), "remember me", "I will");
    } finally {
      first.shutdownTestKit();
    }

    ActorTestKit second = ActorTestKit.create("second", TestConfig.forDatabase(db));
    try {
      var session = second.spawn(ChatSession.create(id, Clock.systemUTC(), POLICY));
      ChatSession.MessagesPage page = ChatSessionPersistenceTest.<ChatSession.MessagesPage>ask(second, session,
          r -> new ChatSession.GetMessages(OWNER, 10, null, r));
      assertThat(page.messages()).extracting(SessionState.Message::content).containsExactly("remember me", "I will");
    } finally {
      second.shutdownTestKit();
    }

    assertThat(single(db, "select count(*) from event_journal where persistence_id = 'ChatSession|acme:durable'"))
        .isEqualTo(3);
  }

  @Test
  void snapshotsEveryHundredEventsAndRecoversFromThem() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("chat_session_snapshots");
    ActorTestKit kit = ActorTestKit.create("snapshots", TestConfig.forDatabase(db));
    String id = ChatSession.entityId("acme", "long");
    try {
      var session = created(kit, id);
      for (int i = 0; i < 60; i++) {
        turn(kit, session, "q" + i, "a" + i);
      }
      kit.stop(session);
      var again = kit.spawn(ChatSession.create(id, Clock.systemUTC(), POLICY));
      ChatSession.SessionView view = ChatSessionPersistenceTest.<ChatSession.SessionView>ask(kit, again,
          r -> new ChatSession.GetSession(OWNER, r));
      assertThat(view.messageCount()).isEqualTo(120);
      assertThat(view.tokensIn()).isEqualTo(300);
    } finally {
      kit.shutdownTestKit();
    }
    assertThat(single(db, "select max(sequence_number) from snapshot where persistence_id = 'ChatSession|acme:long'"))
        .isEqualTo(100);
  }
}
