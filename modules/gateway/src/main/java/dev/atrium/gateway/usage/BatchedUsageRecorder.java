package dev.atrium.gateway.usage;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariDataSource;
import dev.atrium.core.Backoff;
import dev.atrium.core.Futures;
import dev.atrium.core.db.Database;
import dev.atrium.core.db.DatabaseSettings;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's usage recorder: {@link #record} offers to a bounded Pekko queue
 * ({@code Source.queue}, which drops when full and never blocks); a stream behind it prices
 * each row, groups rows into batches (up to {@code batch-size}, or what came within
 * {@code flush-interval}) and inserts each batch as one JDBC batch (sent as multi-row
 * inserts) as the system role. A batch that fails is retried with backoff until the database takes it, while new
 * rows wait in the queue; when the queue overflows rows are dropped, counted
 * ({@code atrium_usage_dropped_total}) and said in a WARN with how many. On shutdown the
 * queue is drained before the node stops.
 */
public final class BatchedUsageRecorder implements UsageRecorder {
  private static final Logger LOG = LoggerFactory.getLogger(BatchedUsageRecorder.class);

  /** {@code atrium.usage}: the queue, the batches, the retries, how often drops are said. */
  public record Settings(int queueSize, int batchSize, Duration flushInterval, Backoff retry,
      Duration dropWarnInterval) {
    public static Settings fromConfig(Config usage) {
      return new Settings(usage.getInt("queue-size"), usage.getInt("batch-size"), usage.getDuration("flush-interval"),
          new Backoff(usage.getDuration("retry-backoff-min"), usage.getDuration("retry-backoff-max")),
          usage.getDuration("drop-warn-interval"));
    }
  }

  /** Writes one batch; a failed stage is retried with the same rows. */
  @FunctionalInterface
  interface Writer {
    CompletionStage<Integer> write(List<UsageTable.Row> rows);
  }

  private final ActorSystem<?> system;
  private final Settings settings;
  private final PriceTable prices;
  private final UsageMetrics metrics;
  private final Writer writer;
  private final BoundedSourceQueue<UsageRecord> queue;
  private final CompletionStage<Done> drained;
  private final AtomicLong droppedSinceWarn = new AtomicLong();
  private final AtomicLong lastDropWarn;
  private final AtomicInteger failedAttempts = new AtomicInteger();

  BatchedUsageRecorder(ActorSystem<?> system, Settings settings, PriceTable prices, MeterRegistry registry,
      Writer writer) {
    this.system = system;
    this.settings = settings;
    this.prices = prices;
    this.metrics = new UsageMetrics(registry);
    this.writer = writer;
    this.lastDropWarn = new AtomicLong(System.nanoTime() - settings.dropWarnInterval().toNanos());
    Pair<BoundedSourceQueue<UsageRecord>, CompletionStage<Done>> materialized =
        Source.<UsageRecord>queue(settings.queueSize())
            .map(this::priced)
            .groupedWithin(settings.batchSize(), settings.flushInterval())
            .mapAsync(1, rows -> writeUntilTaken(rows, 1))
            .toMat(Sink.ignore(), Keep.both())
            .run(system);
    this.queue = materialized.first();
    this.drained = materialized.second();
    // Drops after the last WARN are said within an interval, even when no more come.
    system.scheduler().scheduleWithFixedDelay(settings.dropWarnInterval(), settings.dropWarnInterval(),
        () -> warnDropped(true), system.executionContext());
  }

  /**
   * The recorder of a node: rows go to {@code usage_events} through a pool of its own (one
   * system-role connection), JDBC on {@code atrium.database.dispatcher}; the rows still
   * queued are written in coordinated shutdown's service-stop phase. The chat-call counters
   * of {@code tenants} are registered at 0 at once.
   */
  public static BatchedUsageRecorder start(ActorSystem<?> system, PriceTable prices, MeterRegistry registry,
      Collection<String> tenants) {
    Config config = system.settings().config();
    HikariDataSource pool = Database.systemPool(DatabaseSettings.fromConfig(config), "atrium-usage", 1);
    Executor jdbc = system.dispatchers().lookup(DispatcherSelector.fromConfig("atrium.database.dispatcher"));
    Writer writer = rows -> CompletableFuture.supplyAsync(() -> {
      try (Connection connection = pool.getConnection()) {
        connection.setAutoCommit(true);
        UsageTable.insert(Database.dsl(connection), rows);
        return rows.size();
      } catch (SQLException e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }, jdbc);
    BatchedUsageRecorder recorder = new BatchedUsageRecorder(system,
        Settings.fromConfig(config.getConfig("atrium.usage")), prices, registry, writer);
    tenants.forEach(recorder.metrics::tenant);
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "usage-recorder-drain",
        recorder::drain);
    system.getWhenTerminated().thenRun(pool::close);
    return recorder;
  }

  @Override
  public boolean record(UsageRecord record) {
    if (queue.offer(record).isEnqueued()) {
      return true;
    }
    metrics.dropped();
    droppedSinceWarn.incrementAndGet();
    warnDropped(false);
    return false;
  }

  /** Completes the queue and waits until every row taken has been written. */
  CompletionStage<Done> drain() {
    queue.complete();
    return drained;
  }

  /** Rows waiting in the queue (not yet in a batch). */
  int queued() {
    return queue.size();
  }

  /**
   * Says how many rows were dropped since the last WARN: at once for the first drop, then at
   * most once per {@code drop-warn-interval}, or now when {@code flush}.
   */
  private void warnDropped(boolean flush) {
    if (droppedSinceWarn.get() == 0) {
      return;
    }
    long now = System.nanoTime();
    long last = lastDropWarn.get();
    if ((flush || now - last >= settings.dropWarnInterval().toNanos()) && lastDropWarn.compareAndSet(last, now)) {
      long dropped = droppedSinceWarn.getAndSet(0);
      if (dropped > 0) {
        LOG.warn("{} usage rows dropped: the usage queue ({} rows) is full, the database is slow or down",
            dropped, settings.queueSize());
      }
    }
  }

  private UsageTable.Row priced(UsageRecord record) {
    UsageRecord priced = record.withCost(prices.cost(record));
    metrics.recorded(priced);
    return new UsageTable.Row(UUID.randomUUID(), priced);
  }

  /** Writes the batch, retrying with backoff until it is taken: the stream waits, the queue fills. */
  private CompletionStage<Done> writeUntilTaken(List<UsageTable.Row> rows, int attempt) {
    return writer.write(rows).handle((written, error) -> {
      if (error == null) {
        int failed = failedAttempts.getAndSet(0);
        if (failed > 0) {
          LOG.info("usage rows written again after {} failed attempts", failed);
        }
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      metrics.writeFailed();
      if (failedAttempts.getAndIncrement() == 0) {
        LOG.warn("usage rows not written ({} in the batch, {} queued), retrying until the database takes them: {}",
            rows.size(), queue.size(), Futures.unwrap(error).getMessage());
      }
      return Patterns.after(settings.retry().delay(attempt), Adapter.toClassic(system).scheduler(),
          system.executionContext(), () -> writeUntilTaken(rows, attempt + 1));
    }).thenCompose(Function.identity());
  }
}
