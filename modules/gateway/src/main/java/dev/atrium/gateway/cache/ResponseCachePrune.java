package dev.atrium.gateway.cache;

import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.jobs.Job;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The scheduled job ({@code atrium.jobs.response-cache-prune}) that deletes expired answers
 * from {@code response_cache}, across tenants (system role). Reads never return an expired
 * answer anyway; this reclaims the rows.
 */
final class ResponseCachePrune implements Job {
  static final String NAME = "response-cache-prune";

  private final ProjectionDatabase database;

  ResponseCachePrune(ProjectionDatabase database) {
    this.database = database;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public CompletionStage<Map<String, Long>> run(Job.Slot slot) {
    return database.systemQuery(dsl -> Map.of("entries", ResponseCacheTable.prune(dsl)));
  }
}
