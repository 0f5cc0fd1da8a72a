package dev.atrium.core.db;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorSystem;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps PostgreSQL's statistics of a young journal current, so that the projections'
 * cached eventsByTag plans are replanned as the journal grows from empty: every
 * {@code atrium.projections.journal-statistics-interval} it calls
 * {@code atrium_refresh_journal_statistics()} (migration V10), which analyses
 * {@code event_journal} and {@code event_tag} when they have doubled since their last
 * analysis and otherwise does nothing. Without it a fresh database polls with plans made
 * on empty tables until autovacuum first analyses them (docs/benchmarks.md).
 */
final class JournalStatistics {
  private static final Logger LOG = LoggerFactory.getLogger(JournalStatistics.class);
  private static final AtomicBoolean WARNED = new AtomicBoolean();

  private JournalStatistics() {}

  static void start(ActorSystem<?> system, ProjectionDatabase database) {
    Duration interval = system.settings().config().getDuration("atrium.projections.journal-statistics-interval");
    if (interval.isZero()) {
      return;
    }
    system.scheduler().scheduleWithFixedDelay(interval, interval, () -> database
        .systemQuery(dsl -> dsl.select(DSL.field("atrium_refresh_journal_statistics()", Integer.class)).fetchOne(0, Integer.class))
        .whenComplete((analysed, failure) -> {
          if (failure != null) {
            // Once, not every few seconds: e.g. a database that was not migrated to V10.
            if (WARNED.compareAndSet(false, true)) {
              LOG.warn("journal statistics not refreshed: {}", failure.getMessage());
            }
          } else if (analysed != null && analysed > 0) {
            LOG.debug("analysed {} journal table(s)", analysed);
          }
        }), system.executionContext());
  }
}
