package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retrieval quality on a fixture corpus of our own (36 handbook and product documents, 60
 * questions whose answering document is known), ingested as a repository archive through
 * the real pipeline (extract, chunk, MiniLM, pgvector) and asked through /v1/search.
 * The threshold comes from the first measurement: recall@5 = 1.00 (60 of 60); 0.95 leaves room
 * for three misses from HNSW's approximation before the test says retrieval got worse.
 */
class RetrievalQualityTest {
  static final double RECALL_AT_5_THRESHOLD = 0.95;
  static final String KEY = "quality-" + java.util.UUID.randomUUID();

  @TempDir Path tenantsDir;

  @Test
  void recallAtFiveIsAboveTheThresholdAndTenantsStayApart() throws Exception {
    JsonNode corpus;
    try (InputStream in = getClass().getResourceAsStream("/quality/corpus.json")) {
      corpus = Json.MAPPER.readTree(in);
    }
    String limits = "\"rate_limits\": {\"default\": {\"paid\": {\"capacity\": 100000, \"refill_per_second\": 100000}},"
        + " \"search\": {\"paid\": {\"capacity\": 100000, \"refill_per_second\": 100000}}}";
    Files.writeString(tenantsDir.resolve("q.json"), """
        {"id": "q", "display_name": "Quality", "api_keys": [{"id": "k", "sha256": "%s", "tier": "PAID"}], %s}
        """.formatted(ApiKeys.sha256(KEY), limits));
    Files.writeString(tenantsDir.resolve("other.json"), """
        {"id": "other", "display_name": "Other", "api_keys": [{"id": "k", "sha256": "%s", "tier": "PAID"}], %s}
        """.formatted(ApiKeys.sha256(KEY + "-other"), limits));

    ByteArrayOutputStream archive = new ByteArrayOutputStream();
    try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(archive)) {
      for (JsonNode doc : corpus.path("documents")) {
        zip.putArchiveEntry(new ZipArchiveEntry(doc.path("source").asText()));
        zip.write(doc.path("content").asText().getBytes(StandardCharsets.UTF_8));
        zip.closeArchiveEntry();
      }
    }
    Map<String, String> sourceOf = new HashMap<>();
    corpus.path("documents").forEach(d -> sourceOf.put(d.path("id").asText(), d.path("source").asText()));

    try (TestNode node = TestNode.start("quality", TestDatabase.fresh("quality"), TenantRegistry.load(tenantsDir, false),
        Map.of())) {
      TestHttp http = node.publicHttp();
      var accepted = http.send(http.request("/v1/documents?repo=handbook").header("Authorization", "Bearer " + KEY)
          .header("Content-Type", "application/zip").POST(HttpRequest.BodyPublishers.ofByteArray(archive.toByteArray())));
      assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
      JsonNode run = RunApiTest.poll(http, KEY, TestHttp.json(accepted).path("run_id").asText(), "succeeded");
      assertThat(run.path("result").path("ingested").asInt()).isEqualTo(corpus.path("documents").size());
      ChatApiTest.await(java.time.Duration.ofSeconds(30), () -> assertThat(TestHttp.json(http.get(
          "/v1/documents?limit=100", "Authorization", "Bearer " + KEY)).path("data").size()).isEqualTo(36));

      int found = 0;
      List<String> misses = new ArrayList<>();
      for (JsonNode q : corpus.path("questions")) {
        var r = http.postJson("/v1/search", Json.MAPPER.createObjectNode()
            .put("query", q.path("question").asText()).put("top_k", 5).toString(), "Authorization", "Bearer " + KEY);
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> sources = TestHttp.json(r).path("sources").findValuesAsText("source");
        if (sources.contains(sourceOf.get(q.path("doc_id").asText()))) {
          found++;
        } else {
          misses.add(q.path("question").asText());
        }
      }
      double recall = (double) found / corpus.path("questions").size();
      org.slf4j.LoggerFactory.getLogger(RetrievalQualityTest.class).info("recall@5 = {} ({} of {}); missed: {}",
          recall, found, corpus.path("questions").size(), misses);
      assertThat(recall).as("recall@5 = %.3f; missed: %s", recall, misses).isGreaterThanOrEqualTo(RECALL_AT_5_THRESHOLD);

      // Another tenant asking the same questions finds nothing of this corpus.
      var other = http.postJson("/v1/search", "{\"query\": \"What time does the Nantes office open?\", \"top_k\": 50}",
          "Authorization", "Bearer " + KEY + "-other");
      assertThat(TestHttp.json(other).path("sources")).isEmpty();
    }
  }
}
