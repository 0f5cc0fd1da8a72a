package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.entity.Reply;
import dev.atrium.gateway.Tokens;
import dev.atrium.sessions.ChatSession.Caller;
import dev.atrium.testkit.MutableClock;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;

/**
 * A journal written by the main of before the message type changed (a committed fixture:
 * events, tags, a snapshot, and what the old entity answered) replays on today's code
 * through {@link SessionMigration}: every session answers as it did then, and
 * rebuilding {@code chat_sessions} from the journal gives the rows the old projection wrote.
 */
class JournalReplayTest {
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  /** The fixture's snake_case JSON, nulls kept. */
  static final ObjectMapper JSON = Json.MAPPER.copy()
      .setDefaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.ALWAYS, JsonInclude.Include.ALWAYS));

  static <T> Reply<T> ask(ActorTestKit kit, ActorRef<ChatSession.Command> ref,
      Function<ActorRef<Reply<T>>, ChatSession.Command> command) throws Exception {
    return AskPattern.<ChatSession.Command, Reply<T>>ask(ref, command::apply, TIMEOUT, kit.scheduler())
        .toCompletableFuture().get();
  }

  static JsonNode message(SessionState.Message m) {
    return JournalFixture.normalized(JSON.valueToTree(SessionJson.message(m)));
  }

  static JsonNode view(ChatSession.SessionView v) {
    ObjectNode json = JSON.createObjectNode();
    json.put("found", true);
    json.put("session_id", v.sessionId());
    json.put("status", v.status());
    json.set("last_active", JSON.valueToTree(v.lastActive()));
    json.put("message_count", v.messageCount());
    json.put("tokens_in", v.tokensIn());
    json.put("tokens_out", v.tokensOut());
    json.put("dropped_messages", v.droppedMessages());
    json.set("in_flight", v.inFlight().<JsonNode>map(JSON::valueToTree).orElse(JSON.nullNode()));
    ObjectNode meta = JSON.valueToTree(v.meta());
    // Counted once when the session was created (recomputed for snapshots older than the count).
    assertThat(meta.remove("system_prompt_tokens").asInt()).isEqualTo(Tokens.count(v.meta().systemPrompt()));
    json.set("meta", meta);
    return JournalFixture.normalized(json);
  }

  @Test
  void aJournalOfTheOldMessageShapeReplaysToTheSameSessionsAndRows() throws Exception {
    JournalFixture fixture = JournalFixture.v1();
    DatabaseSettings db = TestDatabase.fresh("journal_replay");
    fixture.load(db);

    ActorTestKit kit = ActorTestKit.create("replay", TestConfig.forDatabase(db,
        Map.of("jdbc-read-journal.refresh-interval", "100ms")));
    try {
      Cluster cluster = Cluster.get(kit.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      for (JournalFixture.Session recorded : fixture.sessions()) {
        var p = recorded.policy();
        var session = kit.spawn(ChatSession.create(recorded.entityId(), new MutableClock(recorded.clock()),
            new ChatSession.Policy(p.contextWindowTokens(), p.maxHistoryMessages(), p.idleExpiry(), p.turnLease())));
        Caller caller = new Caller(recorded.tenantId(), recorded.callerKeyId());
        String what = recorded.sessionId() + " (" + recorded.story() + ")";

        Reply<ChatSession.SessionView> shown = ask(kit, session, r -> new ChatSession.GetSession(caller, r));
        Reply<ChatSession.MessagesPage> page = ask(kit, session, r -> new ChatSession.GetMessages(caller, 100_000, null, r));
        if (!recorded.view().path("found").asBoolean()) {
          assertThat(shown).as(what).isEqualTo(Reply.notFound("No such session."));
          assertThat(page).as(what).isEqualTo(Reply.notFound("No such session."));
          continue;
        }
        assertThat(view(shown.orElseThrow())).as(what).isEqualTo(JournalFixture.normalized(recorded.view()));
        List<JsonNode> messages = page.orElseThrow().messages().stream().map(JournalReplayTest::message).toList();
        assertThat(messages).as(what).containsExactlyElementsOf(
            JournalFixture.normalized(recorded.messages().path("messages")));
        assertThat(page.orElseThrow().hasMore()).isEqualTo(recorded.messages().path("has_more").asBoolean());

        for (JsonNode replay : recorded.replays()) {
          ChatSession.TurnReply again = JournalReplayTest.<ChatSession.TurnReply>ask(kit, session,
              r -> new ChatSession.StartTurn(caller, "resent", null,
              replay.path("key").asText(), r)).orElseThrow();
          if (replay.path("reply").asText().equals("busy")) {
            assertThat(again).as(what).isEqualTo(new ChatSession.Busy(replay.path("turn_id").asText(),
                replay.path("retry_after_seconds").asLong()));
          } else {
            var replayed = (ChatSession.Replay) again;
            assertThat(JournalFixture.normalized(JSON.valueToTree(replayed.turn())))
                .isEqualTo(JournalFixture.normalized(replay.path("turn")));
            assertThat(message(replayed.userMessage())).isEqualTo(JournalFixture.normalized(replay.path("user_message")));
            assertThat(message(replayed.assistantMessage()))
                .isEqualTo(JournalFixture.normalized(replay.path("assistant_message")));
          }
        }
      }

      // The read side, rebuilt from the journal alone.
      try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
        c.createStatement().execute("delete from chat_sessions");
        c.createStatement().execute("delete from pekko_projection_offset_store where projection_name = '"
            + ChatSessionProjection.NAME + "'");
      }
      ChatSessionProjection.init(kit.system());
      JsonNode expected = JournalFixture.normalized(fixture.chatSessions());
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      JsonNode rows = JournalFixture.normalized(JournalFixture.chatSessionRows(db));
      while (!rows.equals(expected) && System.nanoTime() < deadline) {
        Thread.sleep(100);
        rows = JournalFixture.normalized(JournalFixture.chatSessionRows(db));
      }
      assertThat(rows).isEqualTo(expected);

      // The token totals, counted once per message when it was added (recomputed from older
      // snapshots by the migration), are what the stored messages add up to.
      for (JournalFixture.Session recorded : fixture.sessions()) {
        if (!recorded.view().path("found").asBoolean()) {
          continue;
        }
        var p = recorded.policy();
        // A turn still in flight (the snapshot's session) is taken over once its lease is past:
        // its empty answer adds nothing to the prompt.
        MutableClock clock = new MutableClock(recorded.clock());
        clock.advance(p.turnLease().plusSeconds(1));
        var session = kit.spawn(ChatSession.create(recorded.entityId(), clock,
            new ChatSession.Policy(p.contextWindowTokens(), p.maxHistoryMessages(), p.idleExpiry(), p.turnLease())));
        Caller caller = new Caller(recorded.tenantId(), recorded.callerKeyId());
        var started = (ChatSession.Started) JournalReplayTest.<ChatSession.TurnReply>ask(kit, session,
            r -> new ChatSession.StartTurn(caller, "one more", null, null, r)).orElseThrow();
        String system = recorded.view().path("meta").path("system_prompt").textValue();
        int expectedTokens = 3 + (system == null || system.isBlank() ? 0 : 4 + Tokens.count(system))
            + 4 + Tokens.count("one more");
        JsonNode stored = recorded.messages().path("messages");
        // The new message (and a taken-over turn's empty answer) may push the oldest out of
        // max_history_messages.
        int added = recorded.view().path("in_flight").isNull() ? 1 : 2;
        int trimmed = Math.max(0, stored.size() + added - p.maxHistoryMessages());
        for (int i = trimmed; i < stored.size(); i++) {
          JsonNode m = stored.get(i);
          expectedTokens += m.path("content").asText().isEmpty() ? 0 : 4 + m.path("tokens").asInt();
        }
        assertThat(started.promptTokens()).as(recorded.sessionId()).isEqualTo(expectedTokens);
      }
    } finally {
      kit.shutdownTestKit();
    }
  }
}
