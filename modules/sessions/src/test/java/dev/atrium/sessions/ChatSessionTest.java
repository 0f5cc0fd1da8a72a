package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.Tier;
import dev.atrium.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import dev.atrium.core.entity.Reply;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.Tokens;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The entity's logic: replies, events and state, every message serialized. */
class ChatSessionTest {
  static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local\npekko.actor.serialize-messages = on")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));
  static final Caller OWNER = Caller.of("acme", Owner.key("k_1"));
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

  /** A new session of the test's policy, created without a system prompt. */
  EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> created() {
    var s = session(POLICY);
    create(s, null);
    return s;
  }

  static ChatSession.Started started(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s,
      String content) {
    return (ChatSession.Started) start(s, content, null);
  }

  static void create(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s, String prompt) {
    var created = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(OWNER, "t", prompt, "local", r));
    assertThat(created.reply().accepted()).isTrue();
  }

  static ChatSession.TurnReply start(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s,
      String content, String key) {
    var reply = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, content, null, key, r));
    assertThat(reply.reply().accepted()).as("start turn").isTrue();
    return reply.reply().orElseThrow();
  }

  static SessionState.Message complete(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s,
      String turnId, String content, boolean interrupted) {
    var reply = s.<Reply<SessionState.Message>>runCommand(
        r -> new ChatSession.CompleteTurn(OWNER, turnId, content, 10, 0, interrupted, interrupted ? "client_disconnected" : "stop", r));
    assertThat(reply.reply().accepted()).isTrue();
    return reply.reply().orElseThrow();
  }

  @Test
  void createRecordsTheMetadata() {
    var s = session(POLICY);
    var created = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(OWNER, "Plans", "Be brief.", "local", r));
    assertThat(created.reply().orElseThrow().meta().title()).isEqualTo("Plans");
    assertThat(created.event()).isInstanceOf(ChatSession.Created.class);
    assertThat(created.state().meta().orElseThrow().owner()).isEqualTo(Owner.key("k_1"));

    var again = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(OWNER, "x", null, "local", r));
    assertThat(again.reply()).isEqualTo(Reply.conflict("session_exists", "The session exists already."));
  }

  @Test
  void aTurnRecordsTheUserMessageAndALeaseBeforeTheModelIsCalled() {
    var s = session(POLICY);
    create(s, "Be brief.");
    var reply = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "Hello", null, null, r));

    var started = (ChatSession.Started) reply.reply().orElseThrow();
    assertThat(started.userMessage().content()).isEqualTo("Hello");
    assertThat(started.turn().model()).isEqualTo("local");
    assertThat(started.turn().leaseUntil()).isEqualTo(clock.instant().plus(Duration.ofSeconds(60)));
    assertThat(started.context()).extracting(ChatMessage::role).containsExactly("system", "user");
    assertThat(reply.event()).isInstanceOf(ChatSession.TurnStarted.class);
    assertThat(reply.state().inFlight()).isPresent();
  }

  @Test
  void aSecondTurnWhileTheLeaseHoldsIsBusy() {
    var s = created();
    var first = started(s, "one");
    var second = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "two", null, null, r));

    assertThat(second.reply().orElseThrow()).isInstanceOf(ChatSession.Busy.class);
    var busy = (ChatSession.Busy) second.reply().orElseThrow();
    assertThat(busy.turnId()).isEqualTo(first.turn().turnId());
    assertThat(busy.retryAfterSeconds()).isBetween(1L, 5L);
    assertThat(second.hasNoEvents()).isTrue();
  }

  @Test
  void completingATurnRecordsTheAnswerAndFreesTheSession() {
    var s = created();
    var turn = started(s, "Hello");
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
    var s = created();
    var turn = started(s, "Tell me a story");
    var answer = complete(s, turn.turn().turnId(), "Once upon", true);
    assertThat(answer.interrupted()).isTrue();
    assertThat(s.getState().messages().get(1).content()).isEqualTo("Once upon");
    var late = s.<Reply<SessionState.Message>>runCommand(
        r -> new ChatSession.CompleteTurn(OWNER, turn.turn().turnId(), "again", 0, 0, false, "stop", r));
    assertThat(late.reply()).isEqualTo(Reply.conflict("turn_not_in_flight", "That turn is no longer in flight."));
  }

  @Test
  void anExpiredLeaseIsRecordedAsAnInterruptedTurnWhenTheNextTurnStarts() {
    var s = created();
    var lost = started(s, "lost");
    clock.advance(Duration.ofSeconds(61));

    var next = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "again", null, null, r));
    assertThat(next.reply().orElseThrow()).isInstanceOf(ChatSession.Started.class);
    assertThat(next.events()).hasSize(2);
    var ended = (ChatSession.TurnEnded) next.events().get(0);
    assertThat(ended.turnId()).isEqualTo(lost.turn().turnId());
    assertThat(ended.reason()).isEqualTo("lease_expired");
    assertThat(ended.assistantMessage().interrupted()).isTrue();
    // The empty interrupted answer stays out of the next prompt.
    assertThat(((ChatSession.Started) next.reply().orElseThrow()).context())
        .extracting(ChatMessage::content).containsExactly("lost", "again");
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
    var s = created();
    var turn = started(s, "long answer");
    clock.advance(Duration.ofSeconds(50));
    var renewed = s.runCommand(new ChatSession.RenewLease(OWNER, turn.turn().turnId()));
    assertThat(renewed.event()).isInstanceOf(ChatSession.LeaseRenewed.class);
    clock.advance(Duration.ofSeconds(50));
    var busy = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "x", null, null, r));
    assertThat(busy.reply().orElseThrow()).isInstanceOf(ChatSession.Busy.class);
  }

  @Test
  void anIdempotencyKeyReturnsTheSameTurn() {
    var s = created();
    var first = (ChatSession.Started) start(s, "Hello", "key-1");
    var whileRunning = start(s, "Hello", "key-1");
    assertThat(whileRunning).isInstanceOf(ChatSession.Busy.class);
    complete(s, first.turn().turnId(), "Hi", false);

    var resend = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, "Hello", null, "key-1", r));
    var replay = (ChatSession.Replay) resend.reply().orElseThrow();
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
    var last = started(s, "final question");
    List<String> contents = last.context().stream().map(ChatMessage::content).toList();
    assertThat(contents.get(0)).isEqualTo("System rules.");
    assertThat(contents.get(contents.size() - 1)).isEqualTo("final question");
    assertThat(contents).doesNotContain("question number 0 with some words to count");
    assertThat(contents.size()).isLessThan(12);
  }

  /** The context's token total counted from scratch: every prompted message's stored count and overhead. */
  static int recount(SessionState state) {
    int total = 0;
    for (SessionState.Message m : state.messages()) {
      if (!m.content().isEmpty() || !m.message().toolCalls().isEmpty() || m.message().extra() != null) {
        total += 4 + m.tokens();
      }
    }
    return total;
  }

  static void assertCountedOnce(EventSourcedBehaviorTestKit<ChatSession.Command, ChatSession.Event, SessionState> s) {
    SessionState state = s.getState();
    assertThat(state.contextTokens()).as("running total after %s", state.messages().size()).isEqualTo(recount(state));
    state.messages().stream().filter(m -> "user".equals(m.role()))
        .forEach(m -> assertThat(m.tokens()).isEqualTo(Tokens.count(m.content())));
    assertThat(state.meta().orElseThrow().systemPromptTokens())
        .isEqualTo(Tokens.count(state.meta().orElseThrow().systemPrompt()));
  }

  @Test
  void theContextsTokenTotalIsKeptAsMessagesComeAndGoAndEqualsAFullRecount() {
    var s = session(new ChatSession.Policy(8192, 5, Duration.ofDays(30), Duration.ofSeconds(60)));
    create(s, "Answer in one line.");
    assertCountedOnce(s);
    var first = started(s, "How many tokens is this sentence, roughly?");
    assertCountedOnce(s);
    complete(s, first.turn().turnId(), "About ten, give or take.", false);
    assertCountedOnce(s);
    var second = started(s, "And this one?");
    complete(s, second.turn().turnId(), "Part of an ans", true);
    assertCountedOnce(s);
    started(s, "a turn whose node dies");
    clock.advance(Duration.ofSeconds(61));
    var afterExpiry = started(s, "the next question takes over the lease");
    assertCountedOnce(s);
    complete(s, afterExpiry.turn().turnId(), "", true);
    var keyed = (ChatSession.Started) start(s, "with a key", "k-1");
    complete(s, keyed.turn().turnId(), "keyed answer", false);
    assertCountedOnce(s);
    assertThat(s.getState().droppedMessages()).as("history was trimmed").isPositive();

    // Each message was counted once, when added: the prompt's figure is the tokenizer's.
    var next = started(s, "last question");
    assertThat(next.promptTokens()).isEqualTo(Tokens.countMessages(next.context()));
    assertCountedOnce(s);

    s.restart();
    assertCountedOnce(s);
    assertThat(s.getState().contextTokens()).isEqualTo(recount(s.getState()));
  }

  @Test
  void aPromptCutToTheWindowCountsWhatItKeeps() {
    var s = session(new ChatSession.Policy(60, 200, Duration.ofDays(30), Duration.ofSeconds(60)));
    create(s, "System rules.");
    for (int i = 0; i < 5; i++) {
      var turn = started(s, "question number " + i + " with some words to count");
      complete(s, turn.turn().turnId(), "answer number " + i + " with some words to count", false);
    }
    var last = started(s, "final question");
    assertThat(last.context().size()).isLessThan(12);
    assertThat(last.promptTokens()).isEqualTo(Tokens.countMessages(last.context()));
  }

  @Test
  void anIdleSessionExpiresOnAccess() {
    var s = created();
    clock.advance(Duration.ofDays(31));
    var get = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(OWNER, r));
    assertThat(get.reply()).isEqualTo(Reply.notFound("No such session."));
    assertThat(get.event()).isInstanceOf(ChatSession.Expired.class);
    assertThat(s.getState().status()).isEqualTo(SessionState.Status.EXPIRED);
  }

  @Test
  void rejectsAnotherTenantsAndAnotherKeysCommandsAsNotFound() {
    var s = created();
    var otherTenant = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(Caller.of("evil", Owner.key("k_1")), r));
    var otherKey = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(Caller.of("acme", Owner.key("k_2")), "x", null, null, r));
    var admin = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(Caller.admin("acme"), r));
    var foreignAdmin = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(Caller.admin("evil"), r));

    assertThat(otherTenant.reply()).isEqualTo(Reply.notFound("No such session."));
    assertThat(otherKey.reply()).isEqualTo(Reply.notFound("No such session."));
    assertThat(otherKey.hasNoEvents()).isTrue();
    assertThat(admin.reply().accepted()).isTrue();
    assertThat(foreignAdmin.reply().accepted()).isFalse();
  }

  static Principal user(String userId, String clientIp) {
    return new Principal(Principal.Kind.USER, "acme", Tier.PAID, Optional.empty(), Optional.of(userId),
        Optional.of("acct_1"), clientIp);
  }

  @Test
  void aUsersSessionIsTheUsersOnEveryDeviceAndNobodyElsesButTheAdmins() {
    var s = session(POLICY);
    Caller phone = ChatSession.caller(user("u_1", "10.0.0.1"));
    var created = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(phone, "t", null, "local", r));
    assertThat(((ChatSession.Created) created.event()).owner()).isEqualTo(Owner.user("u_1"));

    Caller laptop = ChatSession.caller(user("u_1", "10.0.0.2"));
    var sameUser = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(laptop, "hi", null, null, r));
    assertThat(sameUser.reply().accepted()).isTrue();
    for (Caller stranger : List.of(ChatSession.caller(user("u_2", "10.0.0.1")), Caller.of("acme", Owner.key("u_1")))) {
      var get = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(stranger, r));
      var close = s.<Reply<Done>>runCommand(r -> new ChatSession.CloseSession(stranger, r));
      assertThat(get.reply()).isEqualTo(Reply.notFound("No such session."));
      assertThat(close.reply()).isEqualTo(Reply.notFound("No such session."));
      assertThat(close.hasNoEvents()).isTrue();
    }
    assertThat(s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(Caller.admin("acme"), r))
        .reply().orElseThrow().meta().owner()).isEqualTo(Owner.user("u_1"));

    s.restart();
    assertThat(s.getState().meta().orElseThrow().owner()).isEqualTo(Owner.user("u_1"));
    assertThat(s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.GetSession(laptop, r)).reply()
        .accepted()).isTrue();
  }

  @Test
  void onlyPaidKeysAndUsersKeepSessionsAndNoAnonymousCallerPassesForAnAdmin() {
    assertThat(ChatSession.caller(user("u_1", "10.0.0.1"))).isEqualTo(Caller.of("acme", Owner.user("u_1")));
    Principal anonymous = new Principal(Principal.Kind.ANONYMOUS, "acme", Tier.PAID, Optional.empty(),
        Optional.empty(), Optional.empty(), "10.0.0.9");
    Principal freeUser = new Principal(Principal.Kind.USER, "acme", Tier.FREE, Optional.empty(), Optional.of("u_3"),
        Optional.empty(), "10.0.0.9");
    for (Principal refused : List.of(anonymous, freeUser)) {
      assertThatThrownBy(() -> ChatSession.caller(refused)).isInstanceOfSatisfying(ApiError.class,
          e -> assertThat(e.code()).isEqualTo("sessions_need_paid_key"));
    }
    assertThat(Caller.of(anonymous)).isEmpty();
    assertThatThrownBy(() -> new Caller("acme", null, false)).isInstanceOf(IllegalArgumentException.class);
    // An admin reads sessions but makes none: a session always has an owner.
    var s = session(POLICY);
    var byAdmin = s.<Reply<ChatSession.SessionView>>runCommand(r -> new ChatSession.Create(Caller.admin("acme"), "t",
        null, "local", r));
    assertThat(byAdmin.reply()).isEqualTo(Reply.notFound("No such session."));
    assertThat(byAdmin.hasNoEvents()).isTrue();
  }

  @Test
  void aClosedSessionServesNothing() {
    var s = created();
    start(s, "bye", null);
    var close = s.<Reply<Done>>runCommand(r -> new ChatSession.CloseSession(OWNER, r));
    assertThat(close.reply().accepted()).isTrue();
    var messages = s.<Reply<ChatSession.MessagesPage>>runCommand(r -> new ChatSession.GetMessages(OWNER, 10, null, r));
    assertThat(messages.reply()).isEqualTo(Reply.notFound("No such session."));
  }

  @Test
  void messagesArePagedBackwards() {
    var s = created();
    for (int i = 0; i < 3; i++) {
      var turn = (ChatSession.Started) start(s, "q" + i, null);
      complete(s, turn.turn().turnId(), "a" + i, false);
    }
    var latest = s.<Reply<ChatSession.MessagesPage>>runCommand(r -> new ChatSession.GetMessages(OWNER, 4, null, r))
        .reply().orElseThrow();
    assertThat(latest.messages()).extracting(SessionState.Message::content).containsExactly("q1", "a1", "q2", "a2");
    assertThat(latest.hasMore()).isTrue();
    String firstId = latest.messages().get(0).id();
    var earlier = s.<Reply<ChatSession.MessagesPage>>runCommand(r -> new ChatSession.GetMessages(OWNER, 4, firstId, r))
        .reply().orElseThrow();
    assertThat(earlier.messages()).extracting(SessionState.Message::content).containsExactly("q0", "a0");
    assertThat(earlier.hasMore()).isFalse();
  }

  @Test
  void keepsAMessagesPromptCachingHintThroughItsEventAndARestart() {
    var s = created();
    var hint = new ChatMessage.CacheControl("ephemeral", "1h");
    var hinted = new ChatMessage("user", "a long document", null, List.of(), null, null, hint);
    var reply = s.<Reply<ChatSession.TurnReply>>runCommand(r -> new ChatSession.StartTurn(OWNER, hinted, null, null,
        ChatSession.newId(), r));
    var started = (ChatSession.Started) reply.reply().orElseThrow();
    assertThat(((ChatSession.TurnStarted) reply.event()).userMessage().message().cacheControl()).isEqualTo(hint);
    assertThat(started.context()).last().extracting(ChatMessage::cacheControl).isEqualTo(hint);
    complete(s, started.turn().turnId(), "an answer", false);

    s.restart();
    assertThat(s.getState().messages()).extracting(m -> m.message().cacheControl()).containsExactly(hint, null);
    // A message without one (every message stored before the hint existed) has none.
    var plain = started(s, "no hint");
    assertThat(plain.userMessage().message().cacheControl()).isNull();
  }

  @Test
  void keepsHistoryAndTheInFlightTurnAfterRestart() {
    var s = created();
    var turn = started(s, "one");
    complete(s, turn.turn().turnId(), "two", false);
    var open = started(s, "three");

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
    var s = created();
    var started = s.<Reply<ChatSession.TurnReply>>runCommand(
        r -> new ChatSession.StartTurn(OWNER, ChatMessage.user("lost in transit"), null, null, "turn-from-caller", r));
    assertThat(((ChatSession.Started) started.reply().orElseThrow()).turn().turnId()).isEqualTo("turn-from-caller");
    var ended = s.<Reply<SessionState.Message>>runCommand(
        r -> new ChatSession.CompleteTurn(OWNER, "turn-from-caller", "", 0, 0, true, "start_timed_out", r));
    assertThat(ended.reply().orElseThrow().interrupted()).isTrue();
    assertThat(start(s, "next", null)).isInstanceOf(ChatSession.Started.class);
  }
}
