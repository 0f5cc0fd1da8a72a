package dev.atrium.rag;

import dev.atrium.core.db.ProjectionDatabase;
import dev.atrium.core.jobs.Job;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The scheduled job ({@code atrium.jobs.chunk-expiry}) that deletes expired chunks and the
 * documents whose expiry has passed from the read tables, across tenants (system role).
 * Searches never return an expired chunk anyway; this reclaims the rows.
 */
final class ChunkExpiry implements Job {
  static final String NAME = "chunk-expiry";

  private final ProjectionDatabase database;

  ChunkExpiry(ProjectionDatabase database) {
    this.database = database;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public CompletionStage<Map<String, Long>> run(Job.Slot slot) {
    return database.systemQuery(dsl -> Map.of(
        "chunks", (long) dsl.execute("DELETE FROM rag_chunks WHERE expires_at IS NOT NULL AND expires_at <= now()"),
        "documents", (long) dsl.execute("DELETE FROM documents WHERE expires_at IS NOT NULL AND expires_at <= now()")));
  }
}
