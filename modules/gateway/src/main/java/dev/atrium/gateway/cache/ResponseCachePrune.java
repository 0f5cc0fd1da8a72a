package dev.atrium.gateway.cache;

import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.jobs.Job;
import java.util.Map;

/**
 * The scheduled job ({@code atrium.jobs.response-cache-prune}) that deletes expired answers
 * from {@code response_cache}, across tenants (system role). Reads never return an expired
 * answer anyway; this reclaims the rows.
 */
final class ResponseCachePrune {
  static final String NAME = "response-cache-prune";

  private ResponseCachePrune() {}

  static Job job(ProjectionDatabase database) {
    return Job.of(NAME, slot -> database.systemQuery(dsl -> Map.of("entries", ResponseCacheTable.prune(dsl))));
  }
}
