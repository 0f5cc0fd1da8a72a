package dev.atrium.server;

import static dev.atrium.testkit.TestArchives.zip;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.apache.poi.xwpf.usermodel.XWPFDocument;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Documents on a real node: every format through the ingest run, replace, delete, expiry, isolation, limits. */
class DocumentApiTest {
  static final String KEY_A = "docs-a-" + java.util.UUID.randomUUID();
  static final String KEY_B = "docs-b-" + java.util.UUID.randomUUID();

  @TempDir static Path tenantsDir;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  static TenantRegistry tenants() throws Exception {
    Files.writeString(tenantsDir.resolve("docsa.json"), """
        {"id": "docsa", "display_name": "Docs A", "api_keys": [{"id": "k_a", "sha256": "%s", "tier": "PAID"}],
         "documents": {"max_document_bytes": 100000, "max_archive_files": 20, "max_documents": 30},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY_A)));
    Files.writeString(tenantsDir.resolve("docsb.json"), """
        {"id": "docsb", "display_name": "Docs B", "api_keys": [{"id": "k_b", "sha256": "%s", "tier": "PAID"}],
         "documents": {"max_documents": 1}}
        """.formatted(ApiKeys.sha256(KEY_B)));
    return TenantRegistry.load(tenantsDir, false);
  }

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.fresh("documents");
    node = TestNode.start("documents", db, tenants(), Map.of());
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static String bearer(String key) {
    return "Bearer " + key;
  }

  /** Uploads and waits for the ingest run; returns the 202 body. */
  static JsonNode ingest(HttpResponse<String> accepted, String key) {
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    JsonNode body = TestHttp.json(accepted);
    JsonNode run = RunApiTest.poll(http, key, body.path("run_id").asText(), "succeeded");
    assertThat(run.path("type").asText()).isEqualTo("ingest");
    assertThat(run.path("steps").findValuesAsText("name")).containsExactly("extract", "chunk", "embed", "persist", "cleanup");
    return body;
  }

  static HttpResponse<String> postJson(String key, String json) {
    return http.postJson("/v1/documents", json, "Authorization", bearer(key));
  }

  static HttpResponse<String> postRaw(String key, String query, String contentType, byte[] bytes) {
    return http.send(http.request("/v1/documents" + query).header("Authorization", bearer(key))
        .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(bytes)));
  }

  static List<String> rows(String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.systemUser(), db.systemPassword());
         ResultSet rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  static byte[] pdf(String line) throws Exception {
    try (PDDocument document = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      PDPage page = new PDPage();
      document.addPage(page);
      try (PDPageContentStream content = new PDPageContentStream(document, page)) {
        content.beginText();
        content.setFont(new PDType1Font(Standard14Fonts.FontName.HELVETICA), 12);
        content.newLineAtOffset(50, 700);
        content.showText(line);
        content.endText();
      }
      document.save(out);
      return out.toByteArray();
    }
  }

  static byte[] docx(String paragraph) throws Exception {
    try (XWPFDocument document = new XWPFDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      document.createParagraph().createRun().setText(paragraph);
      document.write(out);
      return out.toByteArray();
    }
  }

  @Test
  void everyFormatBecomesSearchableChunks() throws Exception {
    ingest(postJson(KEY_A, """
        {"id": "text-1", "source": "notes.txt", "content": "The harbour master of Saint-Malo is Yvonne Le Goff.",
         "metadata": {"repo": "notes", "tags": ["harbour"]}}"""), KEY_A);
    ingest(postJson(KEY_A, """
        {"id": "md-1", "source": "guide.md", "content_type": "text/markdown",
         "content": "# Guide\\n\\n## Install\\n\\nRun make install.\\n\\n## Use\\n\\nRun atrium serve."}"""), KEY_A);
    ingest(postJson(KEY_A, """
        {"id": "html-1", "source": "page.html", "content_type": "text/html",
         "content": "<h1>Menu</h1><p>The soup of the day is leek.</p><script>x()</script>"}"""), KEY_A);
    ingest(postRaw(KEY_A, "?source=report.pdf&id=pdf-1", "application/pdf", pdf("The quarterly tonnage rose by nine percent.")), KEY_A);
    ingest(postRaw(KEY_A, "?source=memo.docx&id=docx-1",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx("The ferry leaves at seven.")), KEY_A);

    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      try {
        assertThat(rows("select doc_id from documents where tenant_id = 'docsa' order by doc_id"))
            .contains("docx-1", "html-1", "md-1", "pdf-1", "text-1");
        assertThat(rows("select text from rag_chunks where tenant_id = 'docsa' and doc_id = 'pdf-1'").get(0))
            .contains("tonnage rose by nine percent");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    assertThat(rows("select text from rag_chunks where doc_id = 'docx-1'")).singleElement().asString().contains("ferry leaves at seven");
    assertThat(rows("select text from rag_chunks where doc_id = 'html-1'")).singleElement().asString()
        .contains("soup of the day is leek").doesNotContain("x()");
    assertThat(rows("select heading_path from rag_chunks where doc_id = 'md-1' order by position"))
        .containsExactly("Guide > Install", "Guide > Use");
    assertThat(rows("select distinct vector_dims(embedding) from rag_chunks where tenant_id = 'docsa'")).containsExactly("384");
    assertThat(rows("select metadata->>'repo' from rag_chunks where doc_id = 'text-1'")).containsExactly("notes");

    JsonNode doc = TestHttp.json(http.get("/v1/documents/md-1", "Authorization", bearer(KEY_A)));
    assertThat(doc.path("version").asInt()).isEqualTo(1);
    assertThat(doc.path("chunk_count").asInt()).isEqualTo(2);
    assertThat(doc.path("embedder").asText()).isEqualTo("local:all-minilm-l6-v2");
  }

  @Test
  void aRepositoryArchiveBecomesOneDocumentPerTextFile() throws Exception {
    byte[] archive = zip(Map.of(
        "README.md", "# Lantern\n\nLantern is a tide calculator.".getBytes(StandardCharsets.UTF_8),
        "src/Tide.java", "class Tide { int height() { return 4; } }".getBytes(StandardCharsets.UTF_8),
        "logo.png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0, 0}));
    JsonNode accepted = ingest(postRaw(KEY_A, "?source=lantern&repo=lantern", "application/zip", archive), KEY_A);
    assertThat(accepted.path("documents").findValuesAsText("source")).containsExactlyInAnyOrder("lantern/README.md",
        "lantern/src/Tide.java");
    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      try {
        assertThat(rows("select source from rag_chunks where tenant_id = 'docsa' and metadata->>'repo' = 'lantern'"))
            .containsExactlyInAnyOrder("lantern/README.md", "lantern/src/Tide.java");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void reIngestReplacesAndDeleteRemoves() throws Exception {
    ingest(postJson(KEY_A, "{\"id\": \"changing\", \"source\": \"c.txt\", \"content\": \"The old lighthouse is red.\"}"), KEY_A);
    ingest(postJson(KEY_A, "{\"id\": \"changing\", \"source\": \"c.txt\", \"content\": \"The new lighthouse is white.\"}"), KEY_A);
    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      try {
        assertThat(rows("select text from rag_chunks where doc_id = 'changing'")).containsExactly("The new lighthouse is white.");
        assertThat(rows("select version from rag_chunks where doc_id = 'changing'")).containsExactly("2");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    assertThat(TestHttp.json(http.get("/v1/documents/changing", "Authorization", bearer(KEY_A))).path("version").asInt())
        .isEqualTo(2);

    var deleted = http.send(http.request("/v1/documents/changing").DELETE().header("Authorization", bearer(KEY_A)));
    assertThat(deleted.statusCode()).isEqualTo(204);
    assertThat(http.get("/v1/documents/changing", "Authorization", bearer(KEY_A)).statusCode()).isEqualTo(404);
    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      try {
        assertThat(rows("select chunk_id from rag_chunks where doc_id = 'changing'")).isEmpty();
        assertThat(rows("select doc_id from documents where doc_id = 'changing'")).isEmpty();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void expiredChunksGoAfterTheJob() throws Exception {
    String expires = Instant.now().plusSeconds(3).toString();
    ingest(postJson(KEY_A, "{\"id\": \"ephemeral\", \"source\": \"e.txt\", \"content\": \"Today only: free coffee.\", "
        + "\"expires_at\": \"" + expires + "\"}"), KEY_A);
    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      try {
        assertThat(rows("select chunk_id from rag_chunks where doc_id = 'ephemeral'")).hasSize(1);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    // A manual run takes the job's next slot, once: it runs after the chunk has expired.
    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      try {
        assertThat(rows("select chunk_id from rag_chunks where doc_id = 'ephemeral' and expires_at <= now()")).hasSize(1);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    var job = node.adminHttp().send(node.adminHttp().request("/admin/jobs/chunk-expiry/run")
        .header("Authorization", "Bearer " + node.adminToken).POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(job.statusCode()).isEqualTo(202);
    ChatApiTest.await(Duration.ofSeconds(20), () -> {
      try {
        assertThat(rows("select chunk_id from rag_chunks where doc_id = 'ephemeral'")).isEmpty();
        assertThat(rows("select doc_id from documents where doc_id = 'ephemeral'")).isEmpty();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void anotherTenantNeverSeesTheDocuments() throws Exception {
    ingest(postJson(KEY_A, "{\"id\": \"secret\", \"source\": \"s.txt\", \"content\": \"The vault code is 7741.\"}"), KEY_A);
    assertThat(http.get("/v1/documents/secret", "Authorization", bearer(KEY_B)).statusCode()).isEqualTo(404);
    assertThat(http.send(http.request("/v1/documents/secret").DELETE().header("Authorization", bearer(KEY_B))).statusCode())
        .isEqualTo(404);
    ChatApiTest.await(Duration.ofSeconds(10), () -> assertThat(TestHttp.json(
        http.get("/v1/documents?limit=100", "Authorization", bearer(KEY_A))).path("data").findValuesAsText("id")).contains("secret"));
    assertThat(TestHttp.json(http.get("/v1/documents", "Authorization", bearer(KEY_B))).path("data").findValuesAsText("id"))
        .doesNotContain("secret");
    // The service role without a tenant set sees nothing at all.
    try (Connection service = DriverManager.getConnection(db.url(), db.serviceUser(), db.servicePassword())) {
      for (String table : List.of("documents", "rag_chunks", "embeddings", "document_uploads", "ingest_items")) {
        try (ResultSet rs = service.createStatement().executeQuery("select count(*) from " + table)) {
          rs.next();
          assertThat(rs.getInt(1)).as(table).isZero();
        }
      }
    }
  }

  @Test
  void badUploadsAreRefusedWithoutWritingAnything() throws Exception {
    assertThat(postRaw(KEY_A, "?source=x.png", "image/png", new byte[] {1, 2, 3}).statusCode()).isEqualTo(415);
    var tooBig = postJson(KEY_A, "{\"source\": \"big.txt\", \"content\": \"" + "x".repeat(100_001) + "\"}");
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(TestHttp.json(tooBig).path("detail").asText()).contains("max_document_bytes");
    assertThat(postRaw(KEY_A, "", "application/pdf", new byte[] {1}).statusCode()).isEqualTo(400);

    int uploadsBefore = rows("select upload_id from document_uploads").size();
    var traversal = postRaw(KEY_A, "?source=evil", "application/zip",
        zip(Map.of("ok.txt", "fine".getBytes(StandardCharsets.UTF_8), "../../etc/passwd", "root".getBytes(StandardCharsets.UTF_8))));
    assertThat(traversal.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(traversal).path("code").asText()).isEqualTo("archive_path_traversal");
    assertThat(rows("select upload_id from document_uploads")).hasSize(uploadsBefore);

    // Tenant B may hold one document.
    ingest(postJson(KEY_B, "{\"id\": \"only\", \"source\": \"o.txt\", \"content\": \"One is enough.\"}"), KEY_B);
    ChatApiTest.await(Duration.ofSeconds(10), () -> {
      try {
        assertThat(rows("select doc_id from documents where tenant_id = 'docsb'")).containsExactly("only");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    var overLimit = postJson(KEY_B, "{\"id\": \"second\", \"source\": \"t.txt\", \"content\": \"Too many.\"}");
    assertThat(overLimit.statusCode()).isEqualTo(409);
    assertThat(TestHttp.json(overLimit).path("detail").asText()).contains("max_documents");
    // Re-ingesting the one it has is a replacement, not a new document.
    assertThat(postJson(KEY_B, "{\"id\": \"only\", \"source\": \"o.txt\", \"content\": \"Still one.\"}").statusCode())
        .isEqualTo(202);
  }

  @Test
  void theEmbeddingsEndpointAnswersInOpenAisShape() {
    var r = http.postJson("/v1/embeddings", "{\"model\": \"local\", \"input\": [\"hello\", \"world\"]}",
        "Authorization", bearer(KEY_A));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = TestHttp.json(r);
    assertThat(body.path("data")).hasSize(2);
    assertThat(body.path("data").get(0).path("embedding")).hasSize(384);
    assertThat(body.path("usage").path("prompt_tokens").asInt()).isPositive();
    var unknown = http.postJson("/v1/embeddings", "{\"model\": \"text-embedding-3-large\", \"input\": \"x\"}",
        "Authorization", bearer(KEY_A));
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(TestHttp.json(unknown).path("error").path("code").asText()).isEqualTo("model_not_found");
  }
}
