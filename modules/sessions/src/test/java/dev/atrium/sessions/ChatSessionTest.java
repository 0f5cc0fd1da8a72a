package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The entity's logic, with every command, event and state checked for serialization. */
class ChatSessionTest {
  static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
  static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local\npekko.actor.serialize-messages = on")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));

  EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, ChatSession.State> session =
      EventSourcedBehaviorTestKit.create(testKit.system(),
          ChatSession.create(ChatSession.entityId("acme", "s1"), Clock.fixed(NOW, ZoneOffset.UTC)));

  @BeforeEach
  void clear() {
    session.clear();
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void theFirstMessageOpensTheSession() {
    var result = session.<StatusReply<ChatSession.Message>>runCommand(
        r -> new ChatSession.AddMessage("acme", "user", "hello", r));

    assertThat(result.reply().isSuccess()).isTrue();
    assertThat(result.reply().getValue().content()).isEqualTo("hello");
    assertThat(result.events()).hasSize(2);
    assertThat(result.events().get(0)).isEqualTo(new ChatSession.Opened("acme", "s1", NOW));
    assertThat(result.events().get(1)).isInstanceOf(ChatSession.MessageAdded.class);
    assertThat(result.state().messages()).extracting(ChatSession.Message::content).containsExactly("hello");
    assertThat(result.state().createdAt()).contains(NOW);
  }

  @Test
  void keepsHistoryAfterRestart() {
    session.<StatusReply<ChatSession.Message>>runCommand(r -> new ChatSession.AddMessage("acme", "user", "one", r));
    session.<StatusReply<ChatSession.Message>>runCommand(r -> new ChatSession.AddMessage("acme", "assistant", "two", r));

    session.restart();

    var summary = session.<StatusReply<ChatSession.Summary>>runCommand(r -> new ChatSession.GetSession("acme", r));
    assertThat(summary.reply().getValue().messages()).extracting(ChatSession.Message::content).containsExactly("one", "two");
    assertThat(summary.reply().getValue().sessionId()).isEqualTo("s1");
  }

  @Test
  void rejectsAnotherTenantsCommandsAsNotFound() {
    session.<StatusReply<ChatSession.Message>>runCommand(r -> new ChatSession.AddMessage("acme", "user", "secret", r));

    var get = session.<StatusReply<ChatSession.Summary>>runCommand(r -> new ChatSession.GetSession("other", r));
    var add = session.<StatusReply<ChatSession.Message>>runCommand(r -> new ChatSession.AddMessage("other", "user", "x", r));
    var close = session.<StatusReply<Done>>runCommand(r -> new ChatSession.CloseSession("other", r));

    assertThat(get.reply().isError()).isTrue();
    assertThat(get.reply().getError()).hasMessage("session not found");
    assertThat(add.reply().isError()).isTrue();
    assertThat(add.events()).isEmpty();
    assertThat(close.reply().isError()).isTrue();
    assertThat(close.events()).isEmpty();
  }

  @Test
  void anUnopenedSessionIsNotFound() {
    var get = session.<StatusReply<ChatSession.Summary>>runCommand(r -> new ChatSession.GetSession("acme", r));
    assertThat(get.reply().isError()).isTrue();
    assertThat(get.hasNoEvents()).isTrue();
  }

  @Test
  void aClosedSessionServesNothing() {
    session.<StatusReply<ChatSession.Message>>runCommand(r -> new ChatSession.AddMessage("acme", "user", "bye", r));
    var close = session.<StatusReply<Done>>runCommand(r -> new ChatSession.CloseSession("acme", r));
    assertThat(close.reply().isSuccess()).isTrue();
    assertThat(close.events()).hasSize(1);

    var get = session.<StatusReply<ChatSession.Summary>>runCommand(r -> new ChatSession.GetSession("acme", r));
    var add = session.<StatusReply<ChatSession.Message>>runCommand(r -> new ChatSession.AddMessage("acme", "user", "x", r));
    assertThat(get.reply().isError()).isTrue();
    assertThat(add.reply().isError()).isTrue();
  }

  @Test
  void rejectsAnUnknownRole() {
    var add = session.<StatusReply<ChatSession.Message>>runCommand(r -> new ChatSession.AddMessage("acme", "wizard", "x", r));
    assertThat(add.reply().isError()).isTrue();
    assertThat(add.hasNoEvents()).isTrue();
  }

  @Test
  void entityIdsNeverTakeAColonFromClients() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ChatSession.entityId("acme", "a:b"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
