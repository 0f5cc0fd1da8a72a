package dev.atrium.rag;

import dev.atrium.core.db.Database;
import dev.atrium.core.db.PageCursor;
import dev.atrium.core.http.ApiError;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.jooq.Condition;
import org.jooq.Record;
import org.jooq.impl.DSL;

/** The {@code documents} table for lists and limits, and the staging of uploads. */
final class DocumentQueries {
  private final Database database;

  DocumentQueries(Database database) {
    this.database = database;
  }

  static int limit(String value) {
    try {
      int n = value == null ? 20 : Integer.parseInt(value);
      if (n < 1 || n > 100) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw ApiError.badRequest("invalid_parameter", "limit must be a number from 1 to 100").withExtension("param", "limit");
    }
  }

  CompletionStage<Map<String, Object>> list(String tenantId, int limit, String cursor) {
    PageCursor after = cursor == null ? null : PageCursor.parse(cursor);
    return database.inTenant(tenantId, dsl -> {
      Condition where = Database.tenantIs(DSL.field("tenant_id", String.class), tenantId);
      var updated = DSL.field("updated_at", OffsetDateTime.class);
      var docId = DSL.field("doc_id", String.class);
      if (after != null) {
        where = where.and(DSL.row(updated, docId).lt(after.at(), after.id()));
      }
      List<? extends Record> rows = dsl.select(docId, DSL.field("source", String.class), DSL.field("content_type", String.class),
              DSL.field("metadata", String.class), DSL.field("version", Integer.class), DSL.field("chunk_count", Integer.class),
              DSL.field("created_at", OffsetDateTime.class), updated, DSL.field("expires_at", OffsetDateTime.class))
          .from(DSL.table("documents")).where(where).orderBy(updated.desc(), docId.desc()).limit(limit + 1).fetch();
      boolean more = rows.size() > limit;
      List<? extends Record> page = more ? rows.subList(0, limit) : rows;
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("data", page.stream().map(r -> {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("id", r.get(0));
        json.put("source", r.get(1));
        json.put("content_type", r.get(2));
        try {
          json.put("metadata", dev.atrium.core.Json.MAPPER.readTree(r.get(3, String.class)));
        } catch (Exception e) {
          json.put("metadata", null);
        }
        json.put("version", r.get(4));
        json.put("chunk_count", r.get(5));
        json.put("created_at", instant(r.get(6, OffsetDateTime.class)));
        json.put("updated_at", instant(r.get(7, OffsetDateTime.class)));
        json.put("expires_at", instant(r.get(8, OffsetDateTime.class)));
        return json;
      }).toList());
      body.put("next_cursor", more ? new PageCursor(page.get(limit - 1).get(updated), page.get(limit - 1).get(docId)).encode() : null);
      return body;
    });
  }

  /**
   * Checks the tenant's document count and stages the uploads, in one transaction; returns
   * the upload id of each pending document, in order.
   */
  CompletionStage<List<String>> stage(String tenantId, List<DocumentRoutes.Pending> pending, int maxDocuments) {
    return database.inTenant(tenantId, dsl -> {
      var tenant = Database.tenantIs(DSL.field("tenant_id", String.class), tenantId);
      int existing = dsl.fetchCount(DSL.table("documents"), tenant);
      Set<String> ids = new HashSet<>(pending.stream().map(DocumentRoutes.Pending::docId).toList());
      Set<String> known = new HashSet<>(dsl.select(DSL.field("doc_id", String.class)).from(DSL.table("documents"))
          .where(tenant).and(DSL.field("doc_id", String.class).in(ids)).fetch(0, String.class));
      long added = ids.stream().filter(id -> !known.contains(id)).count();
      if (existing + added > maxDocuments) {
        throw ApiError.conflict("document_limit", "This tenant may hold " + maxDocuments + " documents (max_documents); it has "
            + existing + " and the upload adds " + added + ".").withExtension("limit_documents", maxDocuments);
      }
      List<String> uploads = pending.stream().map(p -> "u_" + UUID.randomUUID().toString().replace("-", "")).toList();
      var insert = dsl.insertInto(DSL.table("document_uploads"), DSL.field("upload_id"), DSL.field("tenant_id"),
          DSL.field("source"), DSL.field("content_type"), DSL.field("bytes"));
      for (int i = 0; i < pending.size(); i++) {
        DocumentRoutes.Pending p = pending.get(i);
        insert = insert.values(uploads.get(i), tenantId, p.source(), p.contentType(), p.bytes());
      }
      insert.execute();
      return uploads;
    });
  }

  /**
   * The tenant's documents of repository {@code repo} (of {@code user} too, when not null):
   * their ids and revisions ({@code metadata.revision}), for the once-per-revision check of
   * a PAID repository question and the removal of files a new revision no longer has.
   */
  CompletionStage<Map<String, String>> repoRevisions(String tenantId, String repo, String user) {
    return database.inTenant(tenantId, dsl -> {
      Condition where = Database.tenantIs(DSL.field("tenant_id", String.class), tenantId)
          .and(DSL.field("metadata->>'repo'", String.class).eq(repo));
      if (user != null) {
        where = where.and(DSL.field("metadata->>'user'", String.class).eq(user));
      }
      Map<String, String> revisions = new LinkedHashMap<>();
      for (Record r : dsl.select(DSL.field("doc_id", String.class), DSL.field("metadata->>'revision'", String.class))
          .from(DSL.table("documents")).where(where).orderBy(DSL.field("doc_id")).fetch()) {
        revisions.put(r.get(0, String.class), r.get(1, String.class));
      }
      return revisions;
    });
  }

  private static Instant instant(OffsetDateTime t) {
    return t == null ? null : t.toInstant();
  }
}
