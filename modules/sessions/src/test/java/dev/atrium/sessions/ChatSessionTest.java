package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.atrium.sessions.ChatSession.Caller;
import dev.atrium.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The entity's logic: replies, events and state, every message serialized. */
class ChatSessionTest {
  static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local\npekko.actor.serialize-messages = on")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));
  static final Caller OWNER = new Caller("acme", "k_1");
  static final ChatSession.Policy POLICY = new ChatSession.Policy(8192, 200, Duration.ofDays(30), Duration.ofSeconds(60));

  final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T10:00:00Z"));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> session(ChatSession.Policy policy) {
    return EventSourcedBehaviorTestKit.create(testKit.system(),
        ChatSession.create(ChatSession.entityId("acme", "s" + System.nanoTime()), clock, policy));
  }

  static void create(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s, String prompt) {
    var created = s.<StatusReply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(OWNER, "t", prompt, "local", r));
    assertThat(created.reply().isSuccess()).isTrue();
  }

  static ChatSession.TurnReply start(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s,
      String content, String key) {
    var reply = s.<StatusReply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, content, null, key, r));
    assertThat(reply.reply().isSuccess()).as("start turn").isTrue();
    return reply.reply().getValue();
  }

  static SessionState.Message complete(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s,
      String turnId, String content, boolean interrupted) {
    var reply = s.<StatusReply<SessionState.Message>>runCommand(
        r -> new ChatSession.CompleteTurn(OWNER, turnId, content, 10, 0, interrupted, interrupted ? "client_disconnected" : "stop", r));
    assertThat(reply.reply().isSuccess()).isTrue();
    return reply.reply().getValue();
  }

  @Test
  void createRecordsTheMetadata() {
    var s = session(POLICY);
    var created = s.<StatusReply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(OWNER, "Plans", "Be brief.", "local", r));
    assertThat(created.reply().getValue().meta().title()).isEqualTo("Plans");
    assertThat(created.event()).isInstanceOf(ChatSession.Created.class);
    assertThat(created.state().meta().orElseThrow().ownerKeyId()).isEqualTo("k_1");

    var again = s.<StatusReply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(OWNER, "x", null, "local", r));
    assertThat(again.reply().getError()).hasMessage(ChatSession.EXISTS);
  }

  @Test
  void aTurnRecordsTheUserMessageAndALeaseBeforeTheModelIsCalled() {
    var s = session(POLICY);
    create(s, "Be brief.");
    var reply = s.<StatusReply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "Hello", null, null, r));

    var started = (ChatSession.Started) reply.reply().getValue();
    assertThat(started.userMessage().content()).isEqualTo("Hello");
    assertThat(started.turn().model()).isEqualTo("local");
    assertThat(started.turn().leaseUntil()).isEqualTo(clock.instant().plus(Duration.ofSeconds(60)));
    assertThat(started.context()).extracting(ChatSession.ContextMessage::role).containsExactly("system", "user");
    assertThat(reply.event()).isInstanceOf(ChatSession.TurnStarted.class);
    assertThat(reply.state().inFlight()).isPresent();
  }

  @Test
  void aSecondTurnWhileTheLeaseHoldsIsBusy() {
    var s = session(POLICY);
    create(s, null);
    var first = (ChatSession.Started) start(s, "one", null);
    var second = s.<StatusReply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "two", null, null, r));

    assertThat(second.reply().getValue()).isInstanceOf(ChatSession.Busy.class);
    var busy = (ChatSession.Busy) second.reply().getValue();
    assertThat(busy.turnId()).isEqualTo(first.turn().turnId());
    assertThat(busy.retryAfterSeconds()).isBetween(1L, 5L);
    assertThat(second.hasNoEvents()).isTrue();
  }

  @Test
  void completingATurnRecordsTheAnswerAndFreesTheSession() {
    var s = session(POLICY);
    create(s, null);
    var turn = (ChatSession.Started) start(s, "Hello", null);
    var answer = complete(s, turn.turn().turnId(), "Hi there", false);

    assertThat(answer.id()).isEqualTo(turn.turn().assistantMessageId());
    assertThat(answer.interrupted()).isFalse();
    SessionState state = s.getState();
    assertThat(state.inFlight()).isEmpty();
    assertThat(state.messages()).extracting(SessionState.Message::content).containsExactly("Hello", "Hi there");
    assertThat(state.tokensIn()).isEqualTo(10);
    assertThat(start(s, "next", null)).isInstanceOf(ChatSession.Started.class);
  }

  @Test
  void anInterruptedAnswerKeepsWhatWasGenerated() {
    var s = session(POLICY);
    create(s, null);
    var turn = (ChatSession.Started) start(s, "Tell me a story", null);
    var answer = complete(s, turn.turn().turnId(), "Once upon", true);
    assertThat(answer.interrupted()).isTrue();
    assertThat(s.getState().messages().get(1).content()).isEqualTo("Once upon");
    var late = s.<StatusReply<SessionState.Message>>runCommand(
        r -> new ChatSession.CompleteTurn(OWNER, turn.turn().turnId(), "again", 0, 0, false, "stop", r));
    assertThat(late.reply().getError()).hasMessage(ChatSession.NOT_IN_FLIGHT);
  }

  @Test
  void anExpiredLeaseIsRecordedAsAnInterruptedTurnWhenTheNextTurnStarts() {
    var s = session(POLICY);
    create(s, null);
    var lost = (ChatSession.Started) start(s, "lost", null);
    clock.advance(Duration.ofSeconds(61));

    var next = s.<StatusReply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "again", null, null, r));
    assertThat(next.reply().getValue()).isInstanceOf(ChatSession.Started.class);
    assertThat(next.events()).hasSize(2);
    var ended = (ChatSession.TurnEnded) next.events().get(0);
    assertThat(ended.turnId()).isEqualTo(lost.turn().turnId());
    assertThat(ended.reason()).isEqualTo("lease_expired");
    assertThat(ended.assistantMessage().interrupted()).isTrue();
    // The empty interrupted answer stays out of the next prompt.
    assertThat(((ChatSession.Started) next.reply().getValue()).context())
        .extracting(ChatSession.ContextMessage::content).containsExactly("lost", "again");
  }

  @Test
  void theLeaseTimerInterruptsATurnWhoseNodeWentSilent() {
    var s = EventSourcedBehaviorTestKit.<ChatSession.Command, ChatSession.Event, SessionState>create(testKit.system(),
        ChatSession.create(ChatSession.entityId("acme", "timer"), java.time.Clock.systemUTC(),
            new ChatSession.Policy(8192, 200, Duration.ofDays(30), Duration.ofMillis(300))));
    create(s, null);
    start(s, "anyone there?", null);
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertThat(s.getState().inFlight()).isEmpty();
      assertThat(s.getState().messages()).hasSize(2);
      assertThat(s.getState().messages().get(1).interrupted()).isTrue();
      return null;
    });
  }

  @Test
  void renewingTheLeaseKeepsALongTurnAlive() {
    var s = session(POLICY);
    create(s, null);
    var turn = (ChatSession.Started) start(s, "long answer", null);
    clock.advance(Duration.ofSeconds(50));
    var renewed = s.runCommand(new ChatSession.RenewLease(OWNER, turn.turn().turnId()));
    assertThat(renewed.event()).isInstanceOf(ChatSession.LeaseRenewed.class);
    clock.advance(Duration.ofSeconds(50));
    var busy = s.<StatusReply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "x", null, null, r));
    assertThat(busy.reply().getValue()).isInstanceOf(ChatSession.Busy.class);
  }

  @Test
  void anIdempotencyKeyReturnsTheSameTurn() {
    var s = session(POLICY);
    create(s, null);
    var first = (ChatSession.Started) start(s, "Hello", "key-1");
    var whileRunning = start(s, "Hello", "key-1");
    assertThat(whileRunning).isInstanceOf(ChatSession.Busy.class);
    complete(s, first.turn().turnId(), "Hi", false);

    var resend = s.<StatusReply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "Hello", null, "key-1", r));
    var replay = (ChatSession.Replay) resend.reply().getValue();
    assertThat(replay.turn().turnId()).isEqualTo(first.turn().turnId());
    assertThat(replay.assistantMessage().content()).isEqualTo("Hi");
    assertThat(resend.hasNoEvents()).isTrue();
    assertThat(s.getState().messages()).hasSize(2);
  }

  @Test
  void historyIsTrimmedByAnEventToMaxMessages() {
    var s = session(new ChatSession.Policy(8192, 4, Duration.ofDays(30), Duration.ofSeconds(60)));
    create(s, null);
    for (int i = 0; i < 3; i++) {
      var turn = (ChatSession.Started) start(s, "q" + i, null);
      complete(s, turn.turn().turnId(), "a" + i, false);
    }
    SessionState state = s.getState();
    assertThat(state.messages()).extracting(SessionState.Message::content).containsExactly("q1", "a1", "q2", "a2");
    assertThat(state.droppedMessages()).isEqualTo(2);
  }

  @Test
  void theContextWindowKeepsTheNewestMessagesThatFit() {
    var s = session(new ChatSession.Policy(60, 200, Duration.ofDays(30), Duration.ofSeconds(60)));
    create(s, "System rules.");
    for (int i = 0; i < 5; i++) {
      var turn = (ChatSession.Started) start(s, "question number " + i + " with some words to count", null);
      complete(s, turn.turn().turnId(), "answer number " + i + " with some words to count", false);
    }
    var last = (ChatSession.Started) start(s, "final question", null);
    List<String> contents = last.context().stream().map(ChatSession.ContextMessage::content).toList();
    assertThat(contents.get(0)).isEqualTo("System rules.");
    assertThat(contents.get(contents.size() - 1)).isEqualTo("final question");
    assertThat(contents).doesNotContain("question number 0 with some words to count");
    assertThat(contents.size()).isLessThan(12);
  }

  @Test
  void anIdleSessionExpiresOnAccess() {
    var s = session(POLICY);
    create(s, null);
    clock.advance(Duration.ofDays(31));
    var get = s.<StatusReply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(OWNER, r));
    assertThat(get.reply().getError()).hasMessage(ChatSession.NOT_FOUND);
    assertThat(get.event()).isInstanceOf(ChatSession.Expired.class);
    assertThat(s.getState().status()).isEqualTo(SessionState.Status.EXPIRED);
  }

  @Test
  void rejectsAnotherTenantsAndAnotherKeysCommandsAsNotFound() {
    var s = session(POLICY);
    create(s, null);
    var otherTenant = s.<StatusReply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(new Caller("evil", "k_1"), r));
    var otherKey = s.<StatusReply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(new Caller("acme", "k_2"), "x", null, null, r));
    var admin = s.<StatusReply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(Caller.admin("acme"), r));
    var foreignAdmin = s.<StatusReply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(Caller.admin("evil"), r));

    assertThat(otherTenant.reply().getError()).hasMessage(ChatSession.NOT_FOUND);
    assertThat(otherKey.reply().getError()).hasMessage(ChatSession.NOT_FOUND);
    assertThat(otherKey.hasNoEvents()).isTrue();
    assertThat(admin.reply().isSuccess()).isTrue();
    assertThat(foreignAdmin.reply().isError()).isTrue();
  }

  @Test
  void aClosedSessionServesNothing() {
    var s = session(POLICY);
    create(s, null);
    start(s, "bye", null);
    var close = s.<StatusReply<Done>>runCommand(r -> new ChatSession.CloseSession(OWNER, r));
    assertThat(close.reply().isSuccess()).isTrue();
    var messages = s.<StatusReply<ChatSession.MessagesPage>>runCommand(r -> new ChatSession.GetMessages(OWNER, 10, null, r));
    assertThat(messages.reply().getError()).hasMessage(ChatSession.NOT_FOUND);
  }

  @Test
  void messagesArePagedBackwards() {
    var s = session(POLICY);
    create(s, null);
    for (int i = 0; i < 3; i++) {
      var turn = (ChatSession.Started) start(s, "q" + i, null);
      complete(s, turn.turn().turnId(), "a" + i, false);
    }
    var latest = s.<StatusReply<ChatSession.MessagesPage>>runCommand(r -> new ChatSession.GetMessages(OWNER, 4, null, r))
        .reply().getValue();
    assertThat(latest.messages()).extracting(SessionState.Message::content).containsExactly("q1", "a1", "q2", "a2");
    assertThat(latest.hasMore()).isTrue();
    String firstId = latest.messages().get(0).id();
    var earlier = s.<StatusReply<ChatSession.MessagesPage>>runCommand(r -> new ChatSession.GetMessages(OWNER, 4, firstId, r))
        .reply().getValue();
    assertThat(earlier.messages()).extracting(SessionState.Message::content).containsExactly("q0", "a0");
    assertThat(earlier.hasMore()).isFalse();
  }

  @Test
  void keepsHistoryAndTheInFlightTurnAfterRestart() {
    var s = session(POLICY);
    create(s, null);
    var turn = (ChatSession.Started) start(s, "one", null);
    complete(s, turn.turn().turnId(), "two", false);
    var open = (ChatSession.Started) start(s, "three", null);

    s.restart();

    SessionState state = s.getState();
    assertThat(state.messages()).extracting(SessionState.Message::content).containsExactly("one", "two", "three");
    assertThat(state.inFlight().orElseThrow().turnId()).isEqualTo(open.turn().turnId());
  }

  @Test
  void entityIdsNeverTakeAColonFromClients() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ChatSession.entityId("acme", "a:b"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aCallerWhoseStartTimedOutCanEndTheTurnByItsOwnId() {
    var s = session(POLICY);
    create(s, null);
    var started = s.<StatusReply<ChatSession.TurnReply>>runCommand(
        r -> new ChatSession.StartTurn(OWNER, "lost in transit", null, null, "turn-from-caller", r));
    assertThat(((ChatSession.Started) started.reply().getValue()).turn().turnId()).isEqualTo("turn-from-caller");
    var ended = s.<StatusReply<SessionState.Message>>runCommand(
        r -> new ChatSession.CompleteTurn(OWNER, "turn-from-caller", "", 0, 0, true, "start_timed_out", r));
    assertThat(ended.reply().getValue().interrupted()).isTrue();
    assertThat(start(s, "next", null)).isInstanceOf(ChatSession.Started.class);
  }
}
