package dev.atrium.rag;

import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.jobs.Job;
import java.util.Map;

/**
 * The scheduled job ({@code atrium.jobs.chunk-expiry}) that deletes expired chunks and the
 * documents whose expiry has passed from the read tables, across tenants (system role).
 * Searches never return an expired chunk anyway; this reclaims the rows.
 */
final class ChunkExpiry {
  static final String NAME = "chunk-expiry";

  private ChunkExpiry() {}

  static Job job(ProjectionDatabase database) {
    return Job.of(NAME, slot -> database.systemQuery(dsl -> Map.of(
        "chunks", (long) dsl.execute("DELETE FROM rag_chunks WHERE expires_at IS NOT NULL AND expires_at <= now()"),
        "documents", (long) dsl.execute("DELETE FROM documents WHERE expires_at IS NOT NULL AND expires_at <= now()"))));
  }
}
