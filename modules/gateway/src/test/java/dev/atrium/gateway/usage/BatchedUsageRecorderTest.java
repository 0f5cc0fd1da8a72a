package dev.atrium.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.Backoff;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.testkit.CapturedLogs;
import dev.atrium.testkit.Eventually;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The recorder's queue and writer, with writers that stall or fail in place of the database. */
class BatchedUsageRecorderTest {
  static final UsageContext CONTEXT = new UsageContext("t", "a1", null, "k", "req_1", null, null, null, "completions",
      "PAID", false);
  static final Pattern DROPPED = Pattern.compile("(\\d+) usage rows dropped");
  static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("usage",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  static BatchedUsageRecorder.Settings settings(int queueSize) {
    return new BatchedUsageRecorder.Settings(queueSize, 5, Duration.ofMillis(20),
        new Backoff(Duration.ofMillis(10), Duration.ofMillis(40)), Duration.ofMillis(100));
  }

  static UsageRecord record(String upstreamModel) {
    return UsageRecord.start(CONTEXT, UsageRecord.CHAT, "openai:up", "mock", upstreamModel)
        .end(UsageStatus.OK, new ChatEvent.Usage(100, 10), false);
  }

  static void await(Runnable assertion) {
    Eventually.await(Duration.ofSeconds(10), assertion);
  }

  @Test
  void aFullQueueDropsWithoutBlockingAndSaysHowManyInAMetricAndAWarn() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicInteger batches = new AtomicInteger();
    // The database never answers: the first batch hangs, the rest waits in the queue until it is full.
    var recorder = new BatchedUsageRecorder(testKit.system(), settings(10), new PriceTable(Map.of()), registry,
        rows -> {
          batches.incrementAndGet();
          return new CompletableFuture<>();
        });
    try (CapturedLogs logs = CapturedLogs.capture()) {
      int refused = 0;
      long started = System.nanoTime();
      for (int i = 0; i < 1_000; i++) {
        if (!recorder.record(record("m"))) {
          refused++;
        }
      }
      long perOffer = (System.nanoTime() - started) / 1_000;
      int dropped = refused;
      // Taken: the queue's 10, and a few batches' worth held by the stages behind it (the batch
      // being written, the one being grouped, the stages' small input buffers).
      assertThat(dropped).isBetween(1_000 - 10 - 30, 1_000 - 10);
      assertThat(registry.get("atrium.usage.dropped").counter().count()).isEqualTo(dropped);
      assertThat(recorder.queued()).isEqualTo(10);
      // Never blocking: an offer is a few microseconds, far below the 50 µs budget of metering.
      assertThat(perOffer).as("nanoseconds per offer").isLessThan(50_000);
      await(() -> assertThat(logs.linesContaining("usage rows dropped").stream().mapToLong(line -> {
        Matcher m = DROPPED.matcher(line);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
      }).sum()).isEqualTo(dropped));
      assertThat(logs.linesContaining("usage rows dropped")).allMatch(l -> l.contains("\"level\":\"WARN\""));
    }
  }

  @Test
  void failedBatchesAreRetriedUntilTheDatabaseTakesThemAndNoRowIsLostOrDoubled() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Map<UUID, UsageRecord> written = new ConcurrentHashMap<>();
    AtomicInteger attempts = new AtomicInteger();
    PriceTable prices = new PriceTable(Map.of("priced", new PriceTable.Price(2.5, 10, 1.25)));
    var recorder = new BatchedUsageRecorder(testKit.system(), settings(100), prices, registry, rows -> {
      if (attempts.incrementAndGet() <= 4) {
        return CompletableFuture.failedFuture(new IllegalStateException("ERROR: permission denied for table usage_events"));
      }
      rows.forEach(row -> assertThat(written.put(row.id(), row.record())).isNull());
      return CompletableFuture.completedFuture(rows.size());
    });
    try (CapturedLogs logs = CapturedLogs.capture()) {
      for (int i = 0; i < 30; i++) {
        assertThat(recorder.record(record(i % 2 == 0 ? "priced" : "unpriced"))).isTrue();
      }
      await(() -> assertThat(written).hasSize(30));
      assertThat(registry.get("atrium.usage.write.failures").counter().count()).isEqualTo(4);
      assertThat(registry.get("atrium.usage.dropped").counter().count()).isZero();
      assertThat(logs.linesContaining("usage rows not written")).hasSize(1);
      assertThat(logs.linesContaining("usage rows written again after 4 failed attempts")).hasSize(1);
    }
    // 100 in × 2.5 + 10 out × 10 micro-USD; no price: null, and counted.
    assertThat(written.values()).filteredOn(r -> r.upstreamModel().equals("priced"))
        .hasSize(15).allMatch(r -> r.costMicroUsd() == 350L);
    assertThat(written.values()).filteredOn(r -> r.upstreamModel().equals("unpriced"))
        .hasSize(15).allMatch(r -> r.costMicroUsd() == null);
    assertThat(registry.get("atrium.usage.unpriced").tag("upstream_model", "unpriced").counter().count()).isEqualTo(15);
    assertThat(registry.get("atrium.usage.tokens").tags("tenant", "t", "model", "mock", "kind", "out").counter().count())
        .isEqualTo(300);
    assertThat(registry.get("atrium.usage.cost.micro.usd").tags("tenant", "t", "model", "mock").counter().count())
        .isEqualTo(15 * 350);
    // No FREE stateless path yet: every chat call is persistent.
    assertThat(registry.get("atrium.persistent.requests").tag("tenant", "t").counter().count()).isEqualTo(30);
    assertThat(registry.get("atrium.stateless.requests").tag("tenant", "t").counter().count()).isZero();
    assertThat(registry.get("atrium.byo.requests").tag("tenant", "t").counter().count()).isZero();
  }

  @Test
  void drainingWritesWhatIsQueuedBeforeTheNodeStops() throws Exception {
    List<UsageTable.Row> written = new java.util.concurrent.CopyOnWriteArrayList<>();
    var recorder = new BatchedUsageRecorder(testKit.system(), settings(100), new PriceTable(Map.of()),
        new SimpleMeterRegistry(), rows -> {
          written.addAll(rows);
          return CompletableFuture.completedFuture(rows.size());
        });
    for (int i = 0; i < 12; i++) {
      recorder.record(record("m"));
    }
    recorder.drain().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(written).hasSize(12);
    assertThat(recorder.record(record("m"))).isFalse();
  }
}
