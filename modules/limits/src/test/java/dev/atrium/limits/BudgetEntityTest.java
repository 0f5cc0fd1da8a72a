package dev.atrium.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.entity.Reply;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.MutableClock;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Budget entity on the real durable-state store and usage_events: it writes its settled
 * totals behind, re-derives them from usage rows when it starts (so a lost write forgets
 * nothing), drops reservations it cannot account for, expires reservations that never
 * settle, and answers only its own tenant.
 */
class BudgetEntityTest {
  static DatabaseSettings db;
  static ActorTestKit testKit;
  static BudgetUsage usage;
  static SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeAll
  static void start() {
    db = TestDatabase.fresh("budget_entity");
    testKit = ActorTestKit.create("budgets", TestConfig.forDatabase(db));
    usage = BudgetUsage.start(SystemReads.start(testKit.system()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  ActorRef<Budget.Command> spawn(String budgetId, MutableClock clock) {
    return testKit.spawn(Budget.create(budgetId, TokenBucket.store(testKit.system()), usage::derive,
        new BudgetGauges(registry), clock));
  }

  static MutableClock clock() {
    return new MutableClock(Instant.now());
  }

  static List<BudgetBook.ScopeCaps> dailyTokens(long cap) {
    return List.of(new BudgetBook.ScopeCaps("tenant", cap, null, null, null, 1.0),
        new BudgetBook.ScopeCaps("key:k1", null, null, null, null, 1.0));
  }

  static Budget.Verdict reserve(ActorRef<Budget.Command> budget, String tenant, long tokens, long cap,
      Duration expiresAfter) {
    TestProbe<Budget.Verdict> probe = testKit.createTestProbe();
    budget.tell(new Budget.Reserve(tenant, UUID.randomUUID().toString(), dailyTokens(cap), tokens, 0, false,
        expiresAfter, probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(10));
  }

  static Budget.View inspect(ActorRef<Budget.Command> budget, String tenant) {
    TestProbe<Reply<Budget.View>> probe = testKit.createTestProbe();
    budget.tell(new Budget.Inspect(tenant, probe.getRef()));
    return ((Reply.Accepted<Budget.View>) probe.receiveMessage(Duration.ofSeconds(10))).value();
  }

  static long settledToday(Budget.View view, String scope) {
    return view.lines().stream().filter(l -> l.scope().equals(scope) && l.period().equals("day"))
        .mapToLong(Budget.LineView::settledTokens).sum();
  }

  /** A usage row as the recorder writes it, straight into the table. */
  static void usageRow(String tenant, String keyId, int in, int out, boolean cacheHit) throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
        PreparedStatement insert = c.prepareStatement("""
            INSERT INTO usage_events (usage_id, created_at, tenant_id, key_id, operation, route_class, provider,
              model, upstream_model, tokens_in, tokens_out, tokens_counted, cost_micro_usd, total_ms, status, cache_hit)
            VALUES (?, ?, ?, ?, 'chat', 'completions', 'openai:up', 'm', 'm', ?, ?, false, 3, 10, 'ok', ?)""")) {
      insert.setObject(1, UUID.randomUUID());
      insert.setTimestamp(2, Timestamp.from(Instant.now()));
      insert.setString(3, tenant);
      insert.setString(4, keyId);
      insert.setInt(5, in);
      insert.setInt(6, out);
      insert.setBoolean(7, cacheHit);
      insert.executeUpdate();
    }
  }

  @Test
  void startsFromWhatUsageRowsSayEvenWhenItsOwnWriteIsLost() throws Exception {
    usageRow("derived", "k1", 30, 20, false);
    usageRow("derived", "k1", 10, 10, false);
    // Cache hits cost the budget nothing; another tenant's rows are not this one's.
    usageRow("derived", "k1", 500, 500, true);
    usageRow("other", "k1", 900, 900, false);
    var budget = spawn("derived", clock());
    Budget.View view = inspect(budget, "derived");
    assertThat(settledToday(view, "tenant")).isEqualTo(70);
    assertThat(settledToday(view, "key:k1")).isEqualTo(70);
    assertThat(reserve(budget, "derived", 31, 100, Duration.ofMinutes(1)).granted()).isFalse();
    Budget.Verdict refused = reserve(budget, "derived", 31, 100, Duration.ofMinutes(1));
    assertThat(refused.scope()).isEqualTo("tenant");
    assertThat(refused.period()).isEqualTo("day");
    assertThat(refused.resetsAt()).isEqualTo(BudgetPeriod.DAY.end(Instant.now()));
    assertThat(reserve(budget, "derived", 30, 100, Duration.ofMinutes(1)).granted()).isTrue();
  }

  @Test
  void aRestartKeepsWhatWasSettledAndDropsWhatWasHeld() {
    MutableClock clock = clock();
    var budget = spawn("restart", clock);
    assertThat(reserve(budget, "restart", 60, 100, Duration.ofMinutes(5)).granted()).isTrue();
    budget.tell(new Budget.Settle("restart", null, List.of("tenant"), 25, 0, clock.instant()));
    Eventually.await(Duration.ofSeconds(10), () -> assertThat(inspect(budget, "restart").revision()).isPositive());
    budget.tell(Budget.Stop.INSTANCE);
    TestProbe<Object> watcher = testKit.createTestProbe();
    watcher.expectTerminated(budget, Duration.ofSeconds(10));

    var again = spawn("restart", clock);
    Budget.View view = inspect(again, "restart");
    assertThat(view.openReservations()).isZero();
    assertThat(settledToday(view, "tenant")).isEqualTo(25);
    // 25 settled + 75 = 100: the 60 held before the restart no longer stand in the way.
    assertThat(reserve(again, "restart", 75, 100, Duration.ofMinutes(1)).granted()).isTrue();
  }

  @Test
  void aReservationThatNeverSettlesIsReleasedWhenItExpires() {
    MutableClock clock = clock();
    var budget = spawn("expiry", clock);
    assertThat(reserve(budget, "expiry", 90, 100, Duration.ofSeconds(150)).granted()).isTrue();
    assertThat(reserve(budget, "expiry", 20, 100, Duration.ofSeconds(150)).granted()).isFalse();
    clock.advance(Duration.ofSeconds(151));
    // The entity looks for expired reservations once a second.
    Eventually.await(Duration.ofSeconds(10), () -> assertThat(inspect(budget, "expiry").openReservations()).isZero());
    assertThat(reserve(budget, "expiry", 20, 100, Duration.ofSeconds(150)).granted()).isTrue();
  }

  @Test
  void anotherTenantsCommandsAreRefusedOrIgnored() {
    var budget = spawn("mine", clock());
    assertThat(reserve(budget, "yours", 1, 100, Duration.ofMinutes(1)).granted()).isFalse();
    budget.tell(new Budget.Settle("yours", null, List.of("tenant"), 50, 0, Instant.now()));
    TestProbe<Reply<Budget.View>> probe = testKit.createTestProbe();
    budget.tell(new Budget.Inspect("yours", probe.getRef()));
    assertThat(probe.receiveMessage(Duration.ofSeconds(10))).isInstanceOf(Reply.Rejected.class);
    assertThat(settledToday(inspect(budget, "mine"), "tenant")).isZero();
  }
}
