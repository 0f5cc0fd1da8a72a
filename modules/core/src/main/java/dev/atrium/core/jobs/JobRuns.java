package dev.atrium.core.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.atrium.core.Json;
import dev.atrium.core.db.ProjectionDatabase;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/** The {@code job_runs} table (src/main/sql/V11), as the system role: claims, ends and reads. */
final class JobRuns {
  private static final Table<Record> JOB_RUNS = DSL.table(DSL.name("job_runs"));
  private static final Field<String> JOB = DSL.field(DSL.name("job"), SQLDataType.CLOB);
  private static final Field<OffsetDateTime> SCHEDULED_FOR =
      DSL.field(DSL.name("scheduled_for"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  private static final Field<String> TRIGGER = DSL.field(DSL.name("trigger"), SQLDataType.CLOB);
  private static final Field<String> NODE = DSL.field(DSL.name("node"), SQLDataType.CLOB);
  private static final Field<OffsetDateTime> STARTED_AT = DSL.field(DSL.name("started_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  private static final Field<OffsetDateTime> ENDED_AT = DSL.field(DSL.name("ended_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  private static final Field<String> OUTCOME = DSL.field(DSL.name("outcome"), SQLDataType.CLOB);
  private static final Field<JSONB> COUNTS = DSL.field(DSL.name("counts"), SQLDataType.JSONB);
  private static final Field<String> ERROR = DSL.field(DSL.name("error"), SQLDataType.CLOB);
  // Declared by hand, the table has no fields jOOQ knows of: RETURNING must name them.
  private static final Field<?>[] COLUMNS = {JOB, SCHEDULED_FOR, TRIGGER, NODE, STARTED_AT, ENDED_AT, OUTCOME, COUNTS, ERROR};
  private static final TypeReference<Map<String, Long>> COUNTS_TYPE = new TypeReference<>() {};

  /** The answer to a claim: whether this claim took the slot, and the slot's run either way. */
  record Claim(boolean claimed, JobRun run) {}

  private final ProjectionDatabase database;

  JobRuns(ProjectionDatabase database) {
    this.database = database;
  }

  /** Takes the slot unless a run holds it already (then answers that run). */
  CompletionStage<Claim> claim(Job.Slot slot, String node, Instant now) {
    return database.systemQuery(dsl -> {
      Optional<JobRun> inserted = dsl.insertInto(JOB_RUNS)
          .set(JOB, slot.job())
          .set(SCHEDULED_FOR, time(slot.scheduledFor()))
          .set(TRIGGER, slot.trigger().wireName())
          .set(NODE, node)
          .set(STARTED_AT, time(now))
          .set(OUTCOME, JobRun.RUNNING)
          .onConflictDoNothing()
          .returning(COLUMNS)
          .fetchOptional()
          .map(JobRuns::run);
      return inserted.map(run -> new Claim(true, run))
          .orElseGet(() -> new Claim(false, find(dsl, slot.job(), slot.scheduledFor()).orElseThrow()));
    });
  }

  /**
   * Records how a run ended. A run marked interrupted by a scheduler that started meanwhile
   * still gets its real ending.
   */
  CompletionStage<Integer> end(Job.Slot slot, Instant now, Map<String, Long> counts, String error) {
    return database.systemQuery(dsl -> dsl.update(JOB_RUNS)
        .set(ENDED_AT, time(now))
        .set(OUTCOME, error == null ? JobRun.SUCCEEDED : JobRun.FAILED)
        .set(COUNTS, json(counts))
        .set(ERROR, error)
        .where(JOB.eq(slot.job()), SCHEDULED_FOR.eq(time(slot.scheduledFor())),
            OUTCOME.in(JobRun.RUNNING, JobRun.INTERRUPTED))
        .execute());
  }

  /**
   * Marks the runs still running as interrupted: called when the scheduler starts, which
   * runs every job, so a run still marked running lost its node. Then answers each job's
   * latest claimed slot, where its schedule resumes.
   */
  CompletionStage<Map<String, Instant>> resume(Instant now) {
    return database.systemQuery(dsl -> {
      dsl.update(JOB_RUNS)
          .set(ENDED_AT, time(now))
          .set(OUTCOME, JobRun.INTERRUPTED)
          .set(ERROR, "the node running it stopped before it ended")
          .where(OUTCOME.eq(JobRun.RUNNING))
          .execute();
      return latestSlots(dsl);
    });
  }

  /**
   * Deletes the runs that started before {@code cutoff}, except what the scheduler and the
   * admin API still need of each job: its latest claimed slot (where its schedule resumes
   * after a restart: catch-up and the next slot are derived from it; every slot claimed from
   * now on lies after it, so no deleted slot can be claimed again), its latest run (the
   * {@code last_run} of {@code GET /admin/jobs}) and any run still marked running (its
   * ending is yet to be recorded). Answers how many runs went.
   */
  CompletionStage<Integer> prune(Instant cutoff) {
    Field<String> outerJob = DSL.field(DSL.name("job_runs", "job"), SQLDataType.CLOB);
    Table<Record> latest = JOB_RUNS.as("latest");
    Field<String> latestJob = DSL.field(DSL.name("latest", "job"), SQLDataType.CLOB);
    Field<OffsetDateTime> latestSlot = DSL.field(DSL.name("latest", "scheduled_for"), SQLDataType.TIMESTAMPWITHTIMEZONE);
    Field<OffsetDateTime> latestStart = DSL.field(DSL.name("latest", "started_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
    return database.systemQuery(dsl -> dsl.deleteFrom(JOB_RUNS)
        .where(STARTED_AT.lt(time(cutoff)), OUTCOME.ne(JobRun.RUNNING),
            SCHEDULED_FOR.lt(DSL.select(DSL.max(latestSlot)).from(latest).where(latestJob.eq(outerJob))),
            STARTED_AT.lt(DSL.select(DSL.max(latestStart)).from(latest).where(latestJob.eq(outerJob))))
        .execute());
  }

  /** Each job's latest claimed slot and its latest run (by start). */
  CompletionStage<Overview> overview() {
    return database.systemQuery(dsl -> new Overview(latestSlots(dsl),
        dsl.select(DSL.asterisk()).distinctOn(JOB).from(JOB_RUNS).orderBy(JOB, STARTED_AT.desc()).fetch().stream()
            .map(JobRuns::run)
            .collect(Collectors.toMap(JobRun::job, run -> run))));
  }

  record Overview(Map<String, Instant> latestSlots, Map<String, JobRun> lastRuns) {}

  /** A job's runs, the latest first. */
  CompletionStage<List<JobRun>> history(String job, int limit) {
    return database.systemQuery(dsl -> dsl.selectFrom(JOB_RUNS).where(JOB.eq(job))
        .orderBy(STARTED_AT.desc(), SCHEDULED_FOR.desc()).limit(limit).fetch(JobRuns::run));
  }

  /** The run of a slot, when it has been claimed. */
  CompletionStage<Optional<JobRun>> find(Job.Slot slot) {
    return database.systemQuery(dsl -> find(dsl, slot.job(), slot.scheduledFor()));
  }

  private static Map<String, Instant> latestSlots(DSLContext dsl) {
    return dsl.select(JOB, DSL.max(SCHEDULED_FOR)).from(JOB_RUNS).groupBy(JOB).fetchMap(
        r -> r.value1(), r -> r.value2().toInstant());
  }

  private static Optional<JobRun> find(DSLContext dsl, String job, Instant scheduledFor) {
    return dsl.selectFrom(JOB_RUNS).where(JOB.eq(job), SCHEDULED_FOR.eq(time(scheduledFor)))
        .fetchOptional().map(JobRuns::run);
  }

  private static JobRun run(Record r) {
    OffsetDateTime ended = r.get(ENDED_AT);
    return new JobRun(r.get(JOB), r.get(SCHEDULED_FOR).toInstant(), r.get(TRIGGER), r.get(NODE),
        r.get(STARTED_AT).toInstant(), ended == null ? null : ended.toInstant(), r.get(OUTCOME),
        counts(r.get(COUNTS)), r.get(ERROR));
  }

  private static Map<String, Long> counts(JSONB json) {
    try {
      return json == null ? Map.of() : Json.MAPPER.readValue(json.data(), COUNTS_TYPE);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("job_runs.counts is not a JSON object of numbers", e);
    }
  }

  private static JSONB json(Map<String, Long> counts) {
    try {
      return JSONB.valueOf(Json.MAPPER.writeValueAsString(counts));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("counts are plain numbers", e);
    }
  }

  private static OffsetDateTime time(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }
}
