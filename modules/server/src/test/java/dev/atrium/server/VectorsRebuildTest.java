package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rebuilding rag_chunks from the journal gives identical rows and computes no embedding. */
class VectorsRebuildTest {
  static final String KEY = "rebuild-" + java.util.UUID.randomUUID();

  @TempDir Path tenantsDir;

  static List<String> rows(DatabaseSettings db, String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
         ResultSet rs = c.createStatement().executeQuery(sql)) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        StringBuilder row = new StringBuilder();
        for (int i = 1; i <= columns; i++) {
          row.append(rs.getString(i)).append('|');
        }
        out.add(row.toString());
      }
    }
    return out;
  }

  static final String CHUNKS = "select tenant_id, doc_id, version, chunk_id, source, position, text, heading_path, "
      + "metadata::text, embedder, embedding::text, expires_at from rag_chunks order by doc_id, chunk_id";
  static final String EMBEDDINGS = "select count(*), max(created_at) from embeddings";

  @Test
  void aRebuildFromTheJournalGivesTheSameRowsWithoutEmbeddingAgain() throws Exception {
    Files.writeString(tenantsDir.resolve("rb.json"), """
        {"id": "rb", "display_name": "Rebuild", "api_keys": [{"id": "k", "sha256": "%s", "tier": "PAID"}],
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY)));
    DatabaseSettings db = TestDatabase.fresh("vectors_rebuild");
    List<String> chunks;
    List<String> embeddings;
    try (TestNode first = TestNode.start("rebuild-1", db, TenantRegistry.load(tenantsDir, false), Map.of())) {
      TestHttp http = first.publicHttp();
      for (String doc : List.of("one", "two")) {
        var r = http.postJson("/v1/documents", "{\"id\": \"" + doc + "\", \"source\": \"" + doc + ".md\", "
            + "\"content_type\": \"text/markdown\", \"content\": \"# " + doc + "\\n\\nThe " + doc
            + " fact is that tides follow the moon.\\n\\n## More\\n\\nSecond section of " + doc + ".\"}",
            "Authorization", "Bearer " + KEY);
        assertThat(r.statusCode()).isEqualTo(202);
        RunApiTest.poll(http, KEY, TestHttp.json(r).path("run_id").asText(), "succeeded");
      }
      ChatApiTest.await(Duration.ofSeconds(20), () -> {
        try {
          assertThat(rows(db, CHUNKS)).hasSize(4);
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      chunks = rows(db, CHUNKS);
      embeddings = rows(db, EMBEDDINGS);
    }

    try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword())) {
      c.createStatement().execute("delete from rag_chunks");
      c.createStatement().execute("delete from documents");
      c.createStatement().execute("delete from pekko_projection_offset_store where projection_name = 'vectors'");
    }
    assertThat(rows(db, CHUNKS)).isEmpty();

    try (TestNode second = TestNode.start("rebuild-2", db, TenantRegistry.load(tenantsDir, false), Map.of())) {
      ChatApiTest.await(Duration.ofSeconds(30), () -> {
        try {
          assertThat(rows(db, CHUNKS)).isEqualTo(chunks);
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      assertThat(rows(db, EMBEDDINGS)).isEqualTo(embeddings);
      assertThat(rows(db, "select doc_id, version, chunk_count from documents order by doc_id"))
          .containsExactly("one|1|2|", "two|1|2|");
    }
  }
}
