package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

/** The entity on the real journal: events and snapshots in PostgreSQL survive the actor system. */
class ChatSessionPersistenceTest {
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  static <T> T ask(ActorTestKit kit, ActorRef<ChatSession.Command> ref,
      java.util.function.Function<ActorRef<StatusReply<T>>, ChatSession.Command> command) throws Exception {
    return AskPattern.<ChatSession.Command, T>askWithStatus(ref, command::apply, TIMEOUT, kit.scheduler())
        .toCompletableFuture().get();
  }

  @Test
  void persistsAndRecoversFromPostgresInANewActorSystem() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("chat_session_persistence");
    String id = ChatSession.entityId("acme", "durable");

    ActorTestKit first = ActorTestKit.create("first", TestConfig.forDatabase(db));
    try {
      var session = first.spawn(ChatSession.create(id, Clock.systemUTC()));
      ChatSessionPersistenceTest.<ChatSession.Message>ask(first, session, r -> new ChatSession.AddMessage("acme", "user", "remember me", r));
      ChatSessionPersistenceTest.<ChatSession.Message>ask(first, session, r -> new ChatSession.AddMessage("acme", "assistant", "I will", r));
    } finally {
      first.shutdownTestKit();
    }

    ActorTestKit second = ActorTestKit.create("second", TestConfig.forDatabase(db));
    try {
      var session = second.spawn(ChatSession.create(id, Clock.systemUTC()));
      ChatSession.Summary summary = ask(second, session, r -> new ChatSession.GetSession("acme", r));
      assertThat(summary.messages()).extracting(ChatSession.Message::content).containsExactly("remember me", "I will");
    } finally {
      second.shutdownTestKit();
    }

    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
         ResultSet rs = c.createStatement().executeQuery(
             "select count(*) from event_journal where persistence_id = 'ChatSession|acme:durable'")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(3);
    }
  }

  @Test
  void snapshotsEveryHundredEventsAndRecoversFromThem() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("chat_session_snapshots");
    String id = ChatSession.entityId("acme", "long");
    ActorTestKit kit = ActorTestKit.create("snapshots", TestConfig.forDatabase(db));
    try {
      var session = kit.spawn(ChatSession.create(id, Clock.systemUTC()));
      for (int i = 0; i < 120; i++) {
        int n = i;
        ChatSessionPersistenceTest.<ChatSession.Message>ask(kit, session, r -> new ChatSession.AddMessage("acme", "user", "m" + n, r));
      }
      kit.stop(session);
      var again = kit.spawn(ChatSession.create(id, Clock.systemUTC()));
      ChatSession.Summary summary = ask(kit, again, r -> new ChatSession.GetSession("acme", r));
      assertThat(summary.messages()).hasSize(120);
      assertThat(summary.messages().get(119).content()).isEqualTo("m119");
    } finally {
      kit.shutdownTestKit();
    }
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
         ResultSet rs = c.createStatement().executeQuery(
             "select max(sequence_number) from snapshot where persistence_id = 'ChatSession|acme:long'")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(100);
    }
  }
}
