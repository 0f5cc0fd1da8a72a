package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.entity.Reply;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.Tokens;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
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
 * Journals written by earlier mains (committed fixtures: events, tags, a snapshot, and what
 * the old entity answered) replay on today's code: v1, from before the message type changed,
 * through {@link SessionMigration}; v2, of six-member messages from before
 * {@code ChatMessage.cacheControl} existed (a new optional member: no migration, absent
 * reads as null). Every session answers as it did then, and rebuilding {@code chat_sessions}
 * from the journal gives the rows the old projection wrote.
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
    replays(JournalFixture.v1(), "journal_replay");
  }

  @Test
  void aJournalOfMessagesWithoutThePromptCachingHintReplaysToTheSameSessionsAndRows() throws Exception {
    replays(JournalFixture.v2(), "journal_replay_v2");
  }

  @Test
  void theSixMembersOfAnOlderMessageReadBackWithNoPromptCachingHint() throws Exception {
    JournalFixture fixture = JournalFixture.v2();
    DatabaseSettings db = TestDatabase.fresh("journal_replay_v2_members");
    fixture.load(db);
    ActorTestKit kit = ActorTestKit.create("replay-members", TestConfig.forDatabase(db, Map.of()));
    try {
      JournalFixture.Session recorded = fixture.session("acme", "s_v2_rich");
      var p = recorded.policy();
      var session = kit.spawn(ChatSession.create(recorded.entityId(), new MutableClock(recorded.clock()),
          new ChatSession.Policy(p.contextWindowTokens(), p.maxHistoryMessages(), p.idleExpiry(), p.turnLease())));
      Caller caller = recorded.caller();
      List<ChatMessage> messages = JournalReplayTest.<ChatSession.MessagesPage>ask(kit, session,
          r -> new ChatSession.GetMessages(caller, 100, null, r)).orElseThrow().messages().stream()
          .map(SessionState.Message::message).toList();
      ObjectNode parts = Json.MAPPER.createObjectNode();
      parts.putArray("content").addObject().put("type", "text").put("text", "What is on this picture?");
      assertThat(messages).containsExactly(
          new ChatMessage("user", "What is on this picture?", "ana", List.of(), null, parts, null),
          new ChatMessage("assistant", null, null,
              List.of(new ChatMessage.ToolCall("call_1", "function", "describe", "{\"detail\":\"high\"}")), null, null,
              null),
          new ChatMessage("user", "And the colours?", null, List.of(), null, null, null),
          new ChatMessage("assistant", "Blue and ochre.", null, List.of(), null, null, null));
    } finally {
      kit.shutdownTestKit();
    }
  }

  private static void replays(JournalFixture fixture, String database) throws Exception {
    DatabaseSettings db = TestDatabase.fresh(database);
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
        Caller caller = recorded.caller();
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
        Caller caller = recorded.caller();
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
          // A message counts in the prompt when it says anything: text, or tool calls (v2's).
          boolean prompted = !m.path("content").asText().isEmpty() || m.path("tool_calls").size() > 0;
          expectedTokens += prompted ? 4 + m.path("tokens").asInt() : 0;
        }
        assertThat(started.promptTokens()).as(recorded.sessionId()).isEqualTo(expectedTokens);
      }
    } finally {
      kit.shutdownTestKit();
    }
  }
}
