package dev.atrium.core.jobs;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * A scheduled job, registered in the node's {@link Jobs} by the module that owns its work.
 * Its schedule is the cron expression {@code atrium.jobs.<name>.cron}; the one scheduler of
 * the cluster ({@link JobScheduler}) runs it once per slot, records every run in
 * {@code job_runs}, and the admin API can run it at once.
 */
public interface Job {
  /** The job's name: lower case letters, digits and dashes, its config section and admin path. */
  String name();

  /**
   * Does the job's work for one slot: the counts of what it did ({@code "chunks" → 3}), or a
   * failed stage. Runs on the scheduler's node; blocking work belongs on a dispatcher of its own.
   */
  CompletionStage<Map<String, Long>> run(Slot slot);

  /** A job named {@code name} whose work for a slot is {@code work}: for jobs that are one query or call. */
  static Job of(String name, java.util.function.Function<Slot, CompletionStage<Map<String, Long>>> work) {
    return new Job() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public CompletionStage<Map<String, Long>> run(Slot slot) {
        return work.apply(slot);
      }
    };
  }

  /** The run the scheduler asks for: which slot of the schedule and why it runs now. */
  record Slot(String job, Instant scheduledFor, Trigger trigger) {}

  /** Why a slot runs: its time came, it was missed while no scheduler ran, or an admin asked. */
  enum Trigger {
    SCHEDULE, CATCH_UP, MANUAL;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
