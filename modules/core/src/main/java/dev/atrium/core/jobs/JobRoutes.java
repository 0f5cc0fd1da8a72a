package dev.atrium.core.jobs;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.PageLimit;
import java.util.List;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The admin API of scheduled jobs, under {@code /admin}: {@code GET /jobs} (each job's
 * schedule, next run and latest run), {@code GET /jobs/{name}} (its runs, the latest first)
 * and {@code POST /jobs/{name}/run} (run its next slot now).
 */
public final class JobRoutes {
  record JobList(List<JobScheduler.JobView> jobs) {}

  record RunList(String job, List<JobRun> runs) {}

  private final JobScheduler scheduler;

  public JobRoutes(JobScheduler scheduler) {
    this.scheduler = scheduler;
  }

  public Route route() {
    return pathPrefix("jobs", () -> concat(
        pathEndOrSingleSlash(() -> get(() -> onSuccess(scheduler.overview(), jobs -> JsonRoutes.json(new JobList(jobs))))),
        pathPrefix(PathMatchers.segment(), name -> {
          if (!scheduler.has(name)) {
            throw ApiError.notFound("No job '" + name + "'.");
          }
          return concat(
              pathEndOrSingleSlash(() -> get(() -> parameterOptional("limit", limit ->
                  onSuccess(scheduler.history(name, PageLimit.parse(limit, 20, 100)),
                      runs -> JsonRoutes.json(new RunList(name, runs)))))),
              path("run", () -> post(() -> onSuccess(scheduler.trigger(name), triggered ->
                  JsonRoutes.json(triggered.started() ? StatusCodes.ACCEPTED : StatusCodes.OK, triggered)))));
        })));
  }
}
