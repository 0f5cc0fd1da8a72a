package dev.atrium.runs;

import static dev.atrium.runs.RunTables.ATTEMPTS;
import static dev.atrium.runs.RunTables.CREATED_AT;
import static dev.atrium.runs.RunTables.DEADLINE_AT;
import static dev.atrium.runs.RunTables.ENDED_AT;
import static dev.atrium.runs.RunTables.ERROR;
import static dev.atrium.runs.RunTables.MESSAGE;
import static dev.atrium.runs.RunTables.OWNER_ID;
import static dev.atrium.runs.RunTables.OWNER_KIND;
import static dev.atrium.runs.RunTables.PROGRESS;
import static dev.atrium.runs.RunTables.RUNS;
import static dev.atrium.runs.RunTables.RUN_ID;
import static dev.atrium.runs.RunTables.STARTED_AT;
import static dev.atrium.runs.RunTables.STATUS;
import static dev.atrium.runs.RunTables.STEP;
import static dev.atrium.runs.RunTables.TENANT_ID;
import static dev.atrium.runs.RunTables.TYPE;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.ProjectionDatabase;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;
import org.jooq.Condition;
import org.jooq.DSLContext;

/**
 * A group of Run events → their rows in {@code runs}, each event's statement in journal
 * order, in the projection's one transaction for the group (which also commits its offset).
 */
final class RunProjectionHandler extends JdbcHandler<List<EventEnvelope<Run.Event>>, ProjectionDatabase.Session> {

  @Override
  public void process(ProjectionDatabase.Session session, List<EventEnvelope<Run.Event>> envelopes) throws Exception {
    session.withConnection(connection -> {
      DSLContext dsl = Database.dsl(connection);
      envelopes.forEach(envelope -> apply(dsl, envelope.event()));
      return null;
    });
  }

  static void apply(DSLContext dsl, Run.Event event) {
    if (event instanceof Run.Created e) {
      dsl.insertInto(RUNS)
          .set(RUN_ID, e.runId()).set(TENANT_ID, e.tenantId()).set(OWNER_KIND, e.spec().owner() == null ? null : e.spec().owner().kind().wireName())
          .set(OWNER_ID, e.spec().owner() == null ? null : e.spec().owner().id())
          .set(TYPE, e.spec().type()).set(STATUS, "queued").set(MESSAGE, "queued")
          .set(CREATED_AT, time(e.spec().createdAt())).set(DEADLINE_AT, time(e.spec().deadlineAt()))
          .onConflictDoNothing()
          .execute();
      return;
    }
    var update = dsl.update(RUNS);
    org.jooq.UpdateSetMoreStep<?> set;
    if (event instanceof Run.Started e) {
      set = update.set(STATUS, "running").set(STARTED_AT, time(e.at())).set(MESSAGE, "running");
    } else if (event instanceof Run.SubStepCompleted e) {
      set = update.set(PROGRESS, e.progress()).set(STEP, e.stepName()).set(MESSAGE, e.message());
    } else if (event instanceof Run.SubStepFailed e) {
      set = update.set(PROGRESS, e.progress()).set(STEP, e.stepName()).set(MESSAGE, e.message());
    } else if (event instanceof Run.SubStepAttemptFailed e) {
      set = update.set(ATTEMPTS, e.totalAttempts()).set(STEP, e.stepName());
    } else if (event instanceof Run.StepCompleted e) {
      set = update.set(PROGRESS, e.progress()).set(STEP, e.stepName());
    } else if (event instanceof Run.CancelRequested e) {
      set = update.set(MESSAGE, "cancelling");
    } else if (event instanceof Run.Succeeded e) {
      set = update.set(STATUS, "succeeded").set(PROGRESS, 100).set(ENDED_AT, time(e.at())).set(MESSAGE, "succeeded");
    } else if (event instanceof Run.Failed e) {
      set = update.set(STATUS, "failed").set(ERROR, e.error()).set(ENDED_AT, time(e.at())).set(MESSAGE, "failed");
    } else if (event instanceof Run.Cancelled e) {
      set = update.set(STATUS, "cancelled").set(ENDED_AT, time(e.at())).set(MESSAGE, "cancelled");
    } else {
      return;
    }
    set.where(row(event)).execute();
  }

  private static Condition row(Run.Event event) {
    return Database.tenantIs(TENANT_ID, event.tenantId()).and(RUN_ID.eq(event.runId()));
  }

  private static OffsetDateTime time(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }
}
