package dev.atrium.rag;

import dev.atrium.core.db.ProjectionDatabase;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Document event → its {@code documents} row and its {@code rag_chunks}, in the
 * projection's transaction. A version replaces every chunk of the document; each chunk's
 * vector is taken from {@code embeddings} (never computed here). Chunks already expired are
 * not written, so a rebuild does not bring back what the expiry job removed.
 */
final class VectorsProjectionHandler extends JdbcHandler<EventEnvelope<Document.Event>, ProjectionDatabase.Session> {
  private static final Logger LOG = LoggerFactory.getLogger(VectorsProjectionHandler.class);

  @Override
  public void process(ProjectionDatabase.Session session, EventEnvelope<Document.Event> envelope) throws Exception {
    session.withConnection(connection -> {
      apply(dev.atrium.core.db.Database.dsl(connection), envelope.event());
      return null;
    });
  }

  static void apply(DSLContext dsl, Document.Event event) {
    dsl.execute("INSERT INTO rag_tenant_state (tenant_id, generation) VALUES (?, 1) "
        + "ON CONFLICT (tenant_id) DO UPDATE SET generation = rag_tenant_state.generation + 1", event.tenantId());
    if (event instanceof Document.Versioned v) {
      String metadata = v.metadata() == null ? "{}" : v.metadata().toString();
      dsl.execute("""
          INSERT INTO documents (tenant_id, doc_id, source, content_type, metadata, version, chunk_count, embedder,
                                 created_at, updated_at, expires_at)
          VALUES (?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?::timestamptz, ?::timestamptz, ?::timestamptz)
          ON CONFLICT (tenant_id, doc_id) DO UPDATE SET source = excluded.source, content_type = excluded.content_type,
            metadata = excluded.metadata, version = excluded.version, chunk_count = excluded.chunk_count,
            embedder = excluded.embedder, updated_at = excluded.updated_at, expires_at = excluded.expires_at
          """, v.tenantId(), v.docId(), v.source(), v.contentType(), metadata, v.version(), v.chunks().size(),
          v.embedder(), time(v.createdAt()), time(v.at()), time(v.expiresAt()));
      dsl.execute("DELETE FROM rag_chunks WHERE tenant_id = ? AND doc_id = ?", v.tenantId(), v.docId());
      List<Chunker.Chunk> chunks = v.chunks();
      int inserted = dsl.execute("""
          INSERT INTO rag_chunks (tenant_id, doc_id, version, chunk_id, source, position, text, heading_path, metadata,
                                  embedder, embedding, expires_at)
          SELECT ?, ?, ?, c.chunk_id, ?, c.position, c.text, c.heading_path, ?::jsonb, ?, e.embedding, ?::timestamptz
          FROM unnest(?::text[], ?::int[], ?::text[], ?::text[], ?::text[])
               AS c(chunk_id, position, text, heading_path, text_hash)
          JOIN embeddings e ON e.tenant_id = ? AND e.embedder = ? AND e.text_hash = c.text_hash
          WHERE ?::timestamptz IS NULL OR ?::timestamptz > now()
          """, v.tenantId(), v.docId(), v.version(), v.source(), metadata, v.embedder(), time(v.expiresAt()),
          chunks.stream().map(Chunker.Chunk::id).toArray(String[]::new),
          chunks.stream().map(Chunker.Chunk::position).toArray(Integer[]::new),
          chunks.stream().map(Chunker.Chunk::text).toArray(String[]::new),
          chunks.stream().map(Chunker.Chunk::headingPath).toArray(String[]::new),
          chunks.stream().map(Chunker.Chunk::textHash).toArray(String[]::new),
          v.tenantId(), v.embedder(), time(v.expiresAt()), time(v.expiresAt()));
      if (inserted < chunks.size() && (v.expiresAt() == null || v.expiresAt().isAfter(Instant.now()))) {
        LOG.warn("document {} version {}: {} of {} chunks had no stored embedding", v.docId(), v.version(), inserted,
            chunks.size());
      }
    } else if (event instanceof Document.Deleted d) {
      dsl.execute("DELETE FROM rag_chunks WHERE tenant_id = ? AND doc_id = ?", d.tenantId(), d.docId());
      dsl.execute("DELETE FROM documents WHERE tenant_id = ? AND doc_id = ?", d.tenantId(), d.docId());
    }
  }

  private static OffsetDateTime time(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }
}
