package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;

/**
 * The chat_sessions projection on a real PostgreSQL: rows follow the events exactly once,
 * and rebuilding the table from the journal gives the same rows.
 */
class ChatSessionProjectionTest {
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  static final String COLUMNS =
      "tenant_id, session_id, owner_kind, owner_id, title, model, message_count, tokens_in, tokens_out, status";

  static ActorTestKit node(String name, DatabaseSettings db) {
    ActorTestKit kit = ActorTestKit.create(name, TestConfig.forDatabase(db, Map.of("jdbc-read-journal.refresh-interval", "100ms")));
    Cluster cluster = Cluster.get(kit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    ChatSession.init(kit.system(), TenantRegistry.of(List.of(), false));
    ChatSessionProjection.init(kit.system());
    return kit;
  }

  static List<String> rows(DatabaseSettings db) throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
         ResultSet rs = c.createStatement().executeQuery("select " + COLUMNS + " from chat_sessions order by session_id")) {
      while (rs.next()) {
        StringBuilder row = new StringBuilder();
        for (int i = 1; i <= 10; i++) {
          row.append(rs.getString(i)).append('|');
        }
        rows.add(row.toString());
      }
    }
    return rows;
  }

  static void awaitRows(DatabaseSettings db, List<String> expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    List<String> actual = rows(db);
    while (!actual.equals(expected) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      actual = rows(db);
    }
    assertThat(actual).isEqualTo(expected);
  }

  @Test
  void rowsFollowTheEventsAndARebuildGivesTheSameRows() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("chat_sessions_projection");
    Caller alice = Caller.of("acme", Owner.key("k_alice"));
    ActorTestKit kit = node("projection", db);
    try {
      var sharding = ClusterSharding.get(kit.system());
      var one = sharding.entityRefFor(ChatSession.ENTITY_KEY, ChatSession.entityId("acme", "one"));
      var two = sharding.entityRefFor(ChatSession.ENTITY_KEY, ChatSession.entityId("globex", "two"));
      one.<Reply<ChatSession.SessionView>>ask(r -> new ChatSession.Create(alice, "First", null, "local", r), TIMEOUT)
          .toCompletableFuture().get().orElseThrow();
      two.<Reply<ChatSession.SessionView>>ask(
          r -> new ChatSession.Create(Caller.of("globex", Owner.key("k_bob")), "Second", null, "gpt", r), TIMEOUT).toCompletableFuture().get().orElseThrow();
      for (int i = 0; i < 2; i++) {
        var started = (ChatSession.Started) one.<Reply<ChatSession.TurnReply>>ask(
            r -> new ChatSession.StartTurn(alice, "question", null, null, r), TIMEOUT).toCompletableFuture().get().orElseThrow();
        one.<Reply<SessionState.Message>>ask(r -> new ChatSession.CompleteTurn(alice, started.turn().turnId(),
            "answer", 7, 3, false, "stop", r), TIMEOUT).toCompletableFuture().get().orElseThrow();
      }
      two.<Reply<org.apache.pekko.Done>>ask(r -> new ChatSession.CloseSession(Caller.of("globex", Owner.key("k_bob")), r), TIMEOUT)
          .toCompletableFuture().get().orElseThrow();

      awaitRows(db, List.of(
          "acme|one|key|k_alice|First|local|4|14|6|active|",
          "globex|two|key|k_bob|Second|gpt|0|0|0|closed|"));
    } finally {
      kit.shutdownTestKit();
    }
    List<String> projected = rows(db);

    // Rebuild: empty the table and forget the offsets; a new node replays the journal.
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      c.createStatement().execute("delete from chat_sessions");
      c.createStatement().execute("delete from pekko_projection_offset_store where projection_name = 'chat-sessions'");
    }
    assertThat(rows(db)).isEmpty();
    ActorTestKit rebuilt = node("rebuilt", db);
    try {
      awaitRows(db, projected);
    } finally {
      rebuilt.shutdownTestKit();
    }
  }

  @Test
  void theServiceRoleSeesOnlyItsTenantsSessions() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("chat_sessions_rls");
    try (Connection system = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword())) {
      system.createStatement().execute("insert into chat_sessions (tenant_id, session_id, created_at, last_active_at) "
          + "values ('acme', 'a', now(), now()), ('globex', 'g', now(), now())");
    }
    try (Connection service = DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword())) {
      service.setAutoCommit(false);
      service.createStatement().execute("select set_config('atrium.tenant_id', 'acme', true)");
      try (ResultSet rs = service.createStatement().executeQuery("select session_id from chat_sessions")) {
        List<String> ids = new ArrayList<>();
        while (rs.next()) {
          ids.add(rs.getString(1));
        }
        assertThat(ids).containsExactly("a");
      }
      service.rollback();
    }
  }
}
