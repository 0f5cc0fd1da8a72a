package dev.atrium.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.entity.Reply;
import dev.atrium.testkit.MutableClock;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The bucket entity on the real durable-state store: write-behind, restart, slots. */
class TokenBucketTest {
  static DatabaseSettings db;
  static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    db = TestDatabase.fresh("token_bucket");
    testKit = ActorTestKit.create("buckets", TestConfig.forDatabase(db));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  ActorRef<TokenBucket.Command> spawn(String clientKey, Clock clock) {
    return testKit.spawn(TokenBucket.create(TokenBucket.entityId("acme", clientKey), TokenBucket.store(testKit.system()), clock));
  }

  static TokenBucket.Verdict check(ActorRef<TokenBucket.Command> bucket, TestProbe<TokenBucket.Verdict> probe) {
    bucket.tell(new TokenBucket.Check("acme", 1, 20, 10.0, probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(5));
  }

  static TokenBucket.View inspect(ActorRef<TokenBucket.Command> bucket) {
    TestProbe<Reply<TokenBucket.View>> probe = testKit.createTestProbe();
    bucket.tell(new TokenBucket.Inspect("acme", probe.getRef()));
    Reply<TokenBucket.View> reply = probe.receiveMessage(Duration.ofSeconds(5));
    assertThat(reply).isInstanceOf(Reply.Accepted.class);
    return ((Reply.Accepted<TokenBucket.View>) reply).value();
  }

  static Reply<Done> reset(ActorRef<TokenBucket.Command> bucket, String tenantId) {
    TestProbe<Reply<Done>> probe = testKit.createTestProbe();
    bucket.tell(new TokenBucket.Reset(tenantId, probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(5));
  }

  static void assertNoSuchBucket(Reply<?> reply) {
    assertThat(reply).isEqualTo(new Reply.Rejected<>(Reply.Reason.NOT_FOUND, "not_found", "No such bucket."));
  }

  static long storedRevision(String clientKey) throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
         ResultSet rs = c.createStatement().executeQuery(
             "select revision from durable_state where persistence_id = 'TokenBucket|acme:" + clientKey + "'")) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  static MutableClock newClock() {
    return new MutableClock(Instant.parse("2026-11-23T12:00:00Z"));
  }

  @Test
  void writesAtMostOnceASecondWhileItChanges() throws Exception {
    MutableClock clock = newClock();
    var bucket = spawn("default/key:burst", clock);
    TestProbe<TokenBucket.Verdict> probe = testKit.createTestProbe();
    long start = System.nanoTime();
    for (int i = 0; i < 200; i++) {
      check(bucket, probe);
    }
    long elapsedSeconds = (System.nanoTime() - start) / 1_000_000_000 + 1;
    probe.awaitAssert(Duration.ofSeconds(5), () -> {
      try {
        assertThat(storedRevision("default/key:burst")).isPositive();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      return null;
    });
    // 200 changes in about a second: a handful of writes, never one per check.
    assertThat(storedRevision("default/key:burst")).isBetween(1L, elapsedSeconds + 2);
    long settled = inspect(bucket).revision();
    // Nothing changes: nothing more is written.
    Thread.sleep(2_500);
    assertThat(inspect(bucket).revision()).isBetween(settled, settled + 1);
    long quiet = inspect(bucket).revision();
    Thread.sleep(1_500);
    assertThat(inspect(bucket).revision()).isEqualTo(quiet);
  }

  @Test
  void aRestartContinuesFromTheLastWrite() throws Exception {
    MutableClock clock = newClock();
    var bucket = spawn("chat/key:restart", clock);
    TestProbe<TokenBucket.Verdict> probe = testKit.createTestProbe();
    for (int i = 0; i < 15; i++) {
      assertThat(check(bucket, probe).allowed()).isTrue();
    }
    // A clean stop (passivation, hand-off) writes what changed.
    bucket.tell(TokenBucket.Stop.INSTANCE);
    probe.expectTerminated(bucket, Duration.ofSeconds(5));

    var again = spawn("chat/key:restart", clock);
    TokenBucket.View view = inspect(again);
    assertThat(view.tokens()).isEqualTo(5.0);
    assertThat(view.lastWrite()).isNotNull();
    for (int i = 0; i < 5; i++) {
      assertThat(check(again, probe).allowed()).isTrue();
    }
    assertThat(check(again, probe).allowed()).isFalse();
  }

  @Test
  void aCrashLosesAtMostTheLastSecond() throws Exception {
    MutableClock clock = newClock();
    var bucket = spawn("chat/key:crash", clock);
    TestProbe<TokenBucket.Verdict> probe = testKit.createTestProbe();
    for (int i = 0; i < 10; i++) {
      check(bucket, probe);
    }
    probe.awaitAssert(Duration.ofSeconds(5), () -> {
      try {
        assertThat(storedRevision("chat/key:crash")).isPositive();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      return null;
    });
    // Written: 10 tokens taken. Then a crash right after five more, before the next write.
    for (int i = 0; i < 5; i++) {
      check(bucket, probe);
    }
    testKit.stop(bucket);
    var again = spawn("chat/key:crash", clock);
    double tokens = inspect(again).tokens();
    assertThat(tokens).isBetween(5.0, 10.0);
  }

  @Test
  void slotsAreCappedAndExpireWithTheirLease() {
    MutableClock clock = newClock();
    var bucket = spawn("streams/key:slots", clock);
    TestProbe<TokenBucket.SlotVerdict> probe = testKit.createTestProbe();
    bucket.tell(new TokenBucket.AcquireSlot("acme", "s1", 2, Duration.ofSeconds(30), probe.getRef()));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "s2", 2, Duration.ofSeconds(30), probe.getRef()));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "s3", 2, Duration.ofSeconds(30), probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isTrue();
    assertThat(probe.receiveMessage().granted()).isTrue();
    assertThat(probe.receiveMessage().granted()).isFalse();

    bucket.tell(new TokenBucket.ReleaseSlot("acme", "s1"));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "s4", 2, Duration.ofSeconds(30), probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isTrue();

    // s2 is renewed, s4's node dies: after the lease only s2 holds a slot.
    clock.advance(Duration.ofSeconds(20));
    bucket.tell(new TokenBucket.RenewSlot("acme", "s2", Duration.ofSeconds(30)));
    clock.advance(Duration.ofSeconds(15));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "s5", 2, Duration.ofSeconds(30), probe.getRef()));
    TokenBucket.SlotVerdict verdict = probe.receiveMessage();
    assertThat(verdict.granted()).isTrue();
    assertThat(verdict.open()).isEqualTo(2);
    bucket.tell(new TokenBucket.AcquireSlot("acme", "s6", 2, Duration.ofSeconds(30), probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isFalse();
  }

  @Test
  void askingAgainForAHeldSlotIsGrantedAndRenewsItsLease() {
    MutableClock clock = newClock();
    var bucket = spawn("runs/running-again", clock);
    TestProbe<TokenBucket.SlotVerdict> probe = testKit.createTestProbe();
    Duration lease = Duration.ofSeconds(30);
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-1", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isTrue();
    // The same id again, the pool full: granted, still one slot.
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-1", 1, lease, probe.getRef()));
    TokenBucket.SlotVerdict again = probe.receiveMessage();
    assertThat(again.granted()).isTrue();
    assertThat(again.open()).isEqualTo(1);
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-2", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isFalse();

    // Asking again renewed the lease: 20 s + 15 s after the first grant, run-1 still holds it.
    clock.advance(Duration.ofSeconds(20));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-1", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isTrue();
    clock.advance(Duration.ofSeconds(15));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-2", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isFalse();
    clock.advance(Duration.ofSeconds(16));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-2", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isTrue();
  }

  @Test
  void aHeldSlotTheBucketLostIsTakenBackEvenPastTheCap() {
    MutableClock clock = newClock();
    var bucket = spawn("runs/running-hold", clock);
    TestProbe<TokenBucket.SlotVerdict> probe = testKit.createTestProbe();
    Duration lease = Duration.ofSeconds(30);
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-1", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isTrue();
    // The bucket loses run-1 (here an admin reset; a crash between writes does the same) and
    // run-2 takes the only slot.
    assertThat(reset(bucket, "acme")).isEqualTo(Reply.ok());
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-2", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isTrue();

    // A stream's renewal does not bring a lost slot back; a run's hold does, past the cap.
    bucket.tell(new TokenBucket.RenewSlot("acme", "run-1", lease));
    assertThat(inspect(bucket).openSlots()).isEqualTo(1);
    bucket.tell(new TokenBucket.HoldSlot("acme", "run-1", lease));
    assertThat(inspect(bucket).openSlots()).isEqualTo(2);
    bucket.tell(new TokenBucket.ReleaseSlot("acme", "run-2"));
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-3", 1, lease, probe.getRef()));
    assertThat(probe.receiveMessage().granted()).isFalse();
    bucket.tell(new TokenBucket.HoldSlot("other", "run-9", lease));
    assertThat(inspect(bucket).openSlots()).isEqualTo(1);
  }

  @Test
  void anotherTenantsCommandsAreRefused() {
    var bucket = spawn("default/key:tenant", newClock());
    TestProbe<TokenBucket.Verdict> probe = testKit.createTestProbe();
    bucket.tell(new TokenBucket.Check("other", 1, 20, 10.0, probe.getRef()));
    assertThat(probe.receiveMessage().allowed()).isFalse();
    TestProbe<Reply<TokenBucket.View>> inspect = testKit.createTestProbe();
    bucket.tell(new TokenBucket.Inspect("other", inspect.getRef()));
    assertNoSuchBucket(inspect.receiveMessage());
    assertNoSuchBucket(reset(bucket, "other"));
    // The bucket's own tenant still has all its tokens: the other tenant took none.
    assertThat(check(bucket, testKit.createTestProbe()).remaining()).isEqualTo(19);
  }

  @Test
  void aBucketNeverUsedIsNotFound() {
    var bucket = spawn("default/key:never-used", newClock());
    TestProbe<Reply<TokenBucket.View>> inspect = testKit.createTestProbe();
    bucket.tell(new TokenBucket.Inspect("acme", inspect.getRef()));
    assertNoSuchBucket(inspect.receiveMessage(Duration.ofSeconds(5)));
  }

  @Test
  void slotsSurviveARestart() {
    MutableClock clock = newClock();
    var bucket = spawn("runs/running-restart", clock);
    TestProbe<TokenBucket.SlotVerdict> probe = testKit.createTestProbe();
    bucket.tell(new TokenBucket.AcquireSlot("acme", "run-1", 1, Duration.ofSeconds(30), probe.getRef()));
    assertThat(probe.receiveMessage(Duration.ofSeconds(5)).granted()).isTrue();
    bucket.tell(TokenBucket.Stop.INSTANCE);
    probe.expectTerminated(bucket, Duration.ofSeconds(5));

    var again = spawn("runs/running-restart", clock);
    again.tell(new TokenBucket.AcquireSlot("acme", "run-2", 1, Duration.ofSeconds(30), probe.getRef()));
    assertThat(probe.receiveMessage(Duration.ofSeconds(5))).isEqualTo(new TokenBucket.SlotVerdict(false, 1));
    assertThat(inspect(again).openSlots()).isEqualTo(1);
  }

  @Test
  void aStopWithNothingChangedWritesNothing() throws Exception {
    var bucket = spawn("default/key:idle", newClock());
    assertThat(reset(bucket, "other")).isInstanceOf(Reply.Rejected.class);
    bucket.tell(TokenBucket.Stop.INSTANCE);
    testKit.createTestProbe().expectTerminated(bucket, Duration.ofSeconds(5));
    assertThat(storedRevision("default/key:idle")).isZero();
  }

  @Test
  void theEntityIdIsTheTenantAndTheClientKey() {
    assertThat(TokenBucket.entityId("acme", "chat/key:k_12")).isEqualTo("acme:chat/key:k_12");
  }

  @Test
  void aResetRefillsTheBucketAndDropsItsSlots() {
    var bucket = spawn("default/key:reset", newClock());
    TestProbe<TokenBucket.Verdict> probe = testKit.createTestProbe();
    for (int i = 0; i < 20; i++) {
      check(bucket, probe);
    }
    assertThat(check(bucket, probe).allowed()).isFalse();
    assertThat(reset(bucket, "acme")).isEqualTo(Reply.ok());
    assertThat(check(bucket, probe).remaining()).isEqualTo(19);
  }

  /**
   * A bucket's row exactly as the previous main (3cfbf57) wrote it: the Jackson serializer
   * (id 31), the snapshot's manifest and JSON. Its store calls moved into WriteBehindStore
   * since; the row must still load as the same bucket.
   */
  @Test
  void aRowWrittenByThePreviousMainLoadsAsTheSameBucket() throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
        var insert = c.prepareStatement("insert into durable_state (persistence_id, revision, state_payload,"
            + " state_serial_id, state_serial_manifest, tag, state_timestamp) values (?, 1, ?, 31, ?, '', ?)")) {
      insert.setString(1, "TokenBucket|acme:chat/key:k_old");
      insert.setBytes(2, """
          {"level":{"tokens":15.0,"lastRefill":"2026-11-30T12:00:00Z"},"capacity":20,"refillPerSecond":10.0,\
          "slots":{"slot-1":"2026-11-30T13:00:00Z"},"lastWrite":"2026-11-30T12:00:00Z"}"""
          .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      insert.setString(3, "dev.atrium.limits.TokenBucket$Snapshot");
      insert.setLong(4, 1796153909252L);
      insert.executeUpdate();
    }
    TokenBucket.View view = inspect(spawn("chat/key:k_old", new MutableClock(Instant.parse("2026-11-30T12:00:00Z"))));
    assertThat(view.tokens()).isEqualTo(15.0);
    assertThat(view.capacity()).isEqualTo(20);
    assertThat(view.refillPerSecond()).isEqualTo(10.0);
    assertThat(view.lastRefill()).isEqualTo(Instant.parse("2026-11-30T12:00:00Z"));
    assertThat(view.openSlots()).isEqualTo(1);
    assertThat(view.revision()).isEqualTo(1);
  }
}
