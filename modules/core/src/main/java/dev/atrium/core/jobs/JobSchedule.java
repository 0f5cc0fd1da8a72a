package dev.atrium.core.jobs;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * A job's slots: the times its cron expression names, in UTC. Expressions are Unix cron's
 * five fields (minute hour day-of-month month day-of-week), as crontab and Kubernetes
 * CronJobs write them, read by cron-utils.
 */
public final class JobSchedule {
  private static final CronParser UNIX = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

  private final String expression;
  private final ExecutionTime times;

  private JobSchedule(String expression, ExecutionTime times) {
    this.expression = expression;
    this.times = times;
  }

  /** The schedule of {@code expression}; a clear error naming the setting when it is not one. */
  public static JobSchedule parse(String setting, String expression) {
    try {
      return new JobSchedule(expression, ExecutionTime.forCron(UNIX.parse(expression).validate()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(setting + " = '" + expression + "' is not a cron expression of five fields"
          + " (minute hour day-of-month month day-of-week, UTC): " + e.getMessage(), e);
    }
  }

  public String expression() {
    return expression;
  }

  /** The first slot strictly after {@code time}; empty for an expression that names no future time. */
  public Optional<Instant> next(Instant time) {
    return times.nextExecution(utc(time)).map(ZonedDateTime::toInstant);
  }

  /** The latest slot at or before {@code time}. */
  public Optional<Instant> latest(Instant time) {
    // Unix cron names minutes: the minute holding time is a slot when it matches.
    ZonedDateTime minute = utc(time).truncatedTo(ChronoUnit.MINUTES);
    return times.isMatch(minute) ? Optional.of(minute.toInstant())
        : times.lastExecution(minute).map(ZonedDateTime::toInstant);
  }

  private static ZonedDateTime utc(Instant time) {
    return time.atZone(ZoneOffset.UTC);
  }
}
