package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.cache.CacheDirective;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.ProviderException;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.testkit.MockLlm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.testkit.javadsl.TestEntityRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A turn's one termination hook, against a real session entity and a mock OpenAI upstream
 * over real HTTP: however the turn ends — the answer completes, the provider fails, the
 * client leaves, the provider times out — the stream slot is released once and the answer
 * is recorded once, with what was generated.
 */
class ChatTurnTest {
  static final Caller OWNER = Caller.of("t", Owner.key("k"));
  static final UsageContext USAGE = new UsageContext("t", null, null, "k", "req_test", null, null, null, "chat", "PAID",
      false);
  static final ChatSession.Policy POLICY = new ChatSession.Policy(8192, 200, Duration.ofDays(30), Duration.ofSeconds(60));
  static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir static Path dir;
  static ActorTestKit testKit;
  static MockLlm mock;
  static ChatTurn.Settings settings;

  @BeforeAll
  static void start() throws Exception {
    testKit = ActorTestKit.create("turns", ConfigFactory.parseString(
            "pekko.actor.provider = local\npekko.actor.serialize-messages = on")
        .withFallback(EventSourcedBehaviorTestKit.config())
        .withFallback(ConfigFactory.load()));
    mock = MockLlm.start(testKit.system(), "127.0.0.1", 0);
    Files.writeString(dir.resolve("t.json"), """
        {"id": "t", "display_name": "T", "api_keys": [{"id": "k", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "up",
                    "models": {"up": {"provider": "up", "upstream_model": "mock-model"},
                               "slow": {"provider": "slow", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%2$s", "timeout_ms": 5000, "max_retries": 0},
                                  "slow": {"type": "openai", "base_url": "%2$s", "timeout_ms": 300,
                                           "max_retries": 0}}}}
        """.formatted(ApiKeys.sha256("k"), mock.baseUrl()));
    TenantRegistry tenants = TenantRegistry.load(dir, false);
    settings = new ChatTurn.Settings(testKit.system(), new ModelGateway(testKit.system(), tenants), null, tenants,
        Duration.ofSeconds(5), Duration.ofSeconds(20));
  }

  @AfterAll
  static void stop() {
    mock.close();
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  /** Counts releases, as the limiter's slot would free its two buckets. */
  record CountingSlot(AtomicInteger releases, StreamSlot slot) {
    static CountingSlot create() {
      AtomicInteger releases = new AtomicInteger();
      return new CountingSlot(releases, StreamSlot.unlimited(releases::incrementAndGet));
    }
  }

  /** A real session whose CompleteTurn commands are also copied to {@code recorded}. */
  record Session(EntityRef<ChatSession.Command> ref, TestProbe<ChatSession.CompleteTurn> recorded) {}

  static Session session() {
    String id = "s" + System.nanoTime();
    TestProbe<ChatSession.CompleteTurn> recorded = testKit.createTestProbe();
    var completions = testKit.spawn(Behaviors.receive(ChatSession.Command.class)
        .onMessage(ChatSession.CompleteTurn.class, complete -> {
          recorded.ref().tell(complete);
          return Behaviors.same();
        })
        .onAnyMessage(other -> Behaviors.same())
        .build());
    var entity = testKit.spawn(Behaviors.monitor(ChatSession.Command.class, completions,
        ChatSession.create(ChatSession.entityId("t", id), Clock.systemUTC(), POLICY)));
    var ref = TestEntityRef.of(ChatSession.ENTITY_KEY, ChatSession.entityId("t", id), entity);
    ref.<Reply<ChatSession.SessionView>>ask(r -> new ChatSession.Create(OWNER, "t", null, "up", r), WAIT)
        .toCompletableFuture().join().orElseThrow();
    return new Session(ref, recorded);
  }

  /** A started turn of a new session, holding its own counted slot. */
  record Started(Session session, CountingSlot slot, ChatTurn turn) {}

  static Started begin(String model) {
    Session session = session();
    CountingSlot slot = CountingSlot.create();
    var request = new ChatTurn.Request(OWNER, "s", ChatMessage.user("hello"), model, false, null, null, USAGE, null, CacheDirective.USE);
    var begun = ChatTurn.begin(settings, session.ref(), request, slot.slot()).toCompletableFuture().join();
    return new Started(session, slot, ((ChatTurn.Go) begun).turn());
  }

  /** The turn ended as {@code how}: one CompleteTurn with {@code reason} reached the session, one release. */
  static ChatSession.CompleteTurn endedOnce(Started started, ChatTurn.Ending how, String reason) throws Exception {
    assertThat(recorded(started.turn()).ending()).isEqualTo(how);
    ChatSession.CompleteTurn complete = recordedOnce(started.session());
    assertThat(complete.interrupted()).isEqualTo(how != ChatTurn.Ending.COMPLETED);
    assertThat(complete.reason()).isEqualTo(reason);
    assertThat(started.slot().releases()).hasValue(1);
    return complete;
  }

  static ChatTurn.Recorded recorded(ChatTurn turn) throws Exception {
    return turn.recorded().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Exactly one CompleteTurn reached the session, and nothing more comes. */
  static ChatSession.CompleteTurn recordedOnce(Session session) {
    ChatSession.CompleteTurn complete = session.recorded().expectMessageClass(ChatSession.CompleteTurn.class, WAIT);
    session.recorded().expectNoMessage(Duration.ofMillis(300));
    return complete;
  }

  static List<SessionState.Message> messages(Session session) {
    return session.ref().<Reply<ChatSession.MessagesPage>>ask(r -> new ChatSession.GetMessages(OWNER, 10, null, r), WAIT)
        .toCompletableFuture().join().orElseThrow().messages();
  }

  @Test
  void aCompletedAnswerIsRecordedOnceAndTheSlotReleasedOnce() throws Exception {
    Started t = begin("up");

    List<ChatEvent> events = t.turn().answer().runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();

    ChatSession.CompleteTurn complete = endedOnce(t, ChatTurn.Ending.COMPLETED, "stop");
    assertThat(recorded(t.turn()).usage())
        .isEqualTo(events.stream().filter(ChatEvent.Usage.class::isInstance).findFirst().orElseThrow());
    assertThat(complete.answer().content()).isEqualTo(messages(t.session()).get(1).content()).isNotEmpty();
    assertThat(messages(t.session()).get(1).interrupted()).isFalse();
  }

  @Test
  void aProviderFailureEndsTheTurnInterruptedOnce() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().failing(500, 5));
    Started t = begin("up");

    assertThatThrownBy(() -> t.turn().answer().runWith(Sink.ignore(), testKit.system()).toCompletableFuture().get())
        .hasRootCauseInstanceOf(ProviderException.class);

    endedOnce(t, ChatTurn.Ending.PROVIDER_FAILED, "provider_failed");
    assertThat(messages(t.session()).get(1).interrupted()).isTrue();
  }

  @Test
  void aClientThatLeavesMidStreamEndsTheTurnWithWhatWasGeneratedOnce() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(50).withChunkDelay(Duration.ofMillis(50)));
    Started t = begin("up");

    List<ChatEvent> seen = t.turn().answer().filter(ChatEvent.Delta.class::isInstance).take(3)
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();

    ChatSession.CompleteTurn complete = endedOnce(t, ChatTurn.Ending.CLIENT_GONE, "client_disconnected");
    String partial = seen.stream().map(e -> ((ChatEvent.Delta) e).content()).reduce("", String::concat);
    assertThat(complete.answer().content()).isEqualTo(partial).isNotEmpty();
    assertThat(messages(t.session()).get(1).content()).isEqualTo(partial);
  }

  @Test
  void aProviderThatDoesNotAnswerInTimeEndsTheTurnAsTimedOutOnce() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().withFirstTokenDelay(Duration.ofSeconds(3)));
    Started t = begin("slow");

    assertThatThrownBy(() -> t.turn().whole().toCompletableFuture().get())
        .hasCauseInstanceOf(ApiError.class)
        .satisfies(e -> assertThat(((ApiError) e.getCause()).status().intValue()).isEqualTo(504));

    endedOnce(t, ChatTurn.Ending.TIMED_OUT, "timed_out");
  }

  @Test
  void aBusySessionGivesTheSlotBackAtOnce() {
    Started first = begin("up");
    CountingSlot second = CountingSlot.create();
    var other = new ChatTurn.Request(OWNER, "s", ChatMessage.user("me too"), "up", false, null, null, USAGE, null, CacheDirective.USE);

    assertThatThrownBy(() -> ChatTurn.begin(settings, first.session().ref(), other, second.slot())
        .toCompletableFuture().join())
        .hasCauseInstanceOf(ApiError.class)
        .satisfies(e -> assertThat(((ApiError) e.getCause()).code()).isEqualTo("turn_in_progress"));
    assertThat(second.releases()).hasValue(1);
    assertThat(first.slot().releases()).hasValue(0);
  }

  @Test
  void aTurnThatIsEndedTwiceRecordsTheFirstEnding() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(50).withChunkDelay(Duration.ofMillis(20)));
    Started t = begin("up");

    // The same turn's answer run twice: the second run's ending changes nothing.
    t.turn().answer().take(2).runWith(Sink.ignore(), testKit.system()).toCompletableFuture().get();
    t.turn().answer().runWith(Sink.ignore(), testKit.system()).toCompletableFuture().get();

    endedOnce(t, ChatTurn.Ending.CLIENT_GONE, "client_disconnected");
    assertThat(messages(t.session())).hasSize(2);
  }
}
