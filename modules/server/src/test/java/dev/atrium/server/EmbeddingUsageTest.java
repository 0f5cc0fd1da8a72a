package dev.atrium.server;

import static dev.atrium.server.ChatApiTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.Tokens;
import dev.atrium.rag.MiniLmEmbedder;
import dev.atrium.testkit.MockLlm;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import dev.atrium.testkit.mockllm.OpenAiJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedding calls behind retrieval and ingest, metered on a real node: a search's and a
 * chat turn's query embedding under the request's context, an ingest run's batches under the
 * run's, with the in-process MiniLM (tokens counted with its tokenizer) and with an
 * OpenAI-compatible embedder (the mock's reported tokens; counted when the call fails).
 */
class EmbeddingUsageTest {
  static final String LOCAL_KEY = "embed-local-" + UUID.randomUUID();
  static final String REMOTE_KEY = "embed-remote-" + UUID.randomUUID();
  static final MiniLmEmbedder MINILM = new MiniLmEmbedder(Runnable::run);
  @TempDir static Path tenantsDir;
  static MockLlm mock;
  static DatabaseSettings db;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    mock = MockLlm.startLocal();
    // "local" answers with the embedded responder (no rewrite); "remote" embeds through the mock.
    Files.writeString(tenantsDir.resolve("elocal.json"), """
        {"id": "elocal", "display_name": "Local embedder",
         "api_keys": [{"id": "k_local", "sha256": "%s", "tier": "PAID", "account": "acct_l"}],
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(LOCAL_KEY)));
    Files.writeString(tenantsDir.resolve("eremote.json"), """
        {"id": "eremote", "display_name": "Remote embedder",
         "api_keys": [{"id": "k_remote", "sha256": "%s", "tier": "PAID", "account": "acct_r"}],
         "models": {"default_model": "mock",
                    "models": {"mock": {"provider": "up", "upstream_model": "mock-model"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "timeout_ms": 5000, "max_retries": 0}}},
         "documents": {"embedder": "up", "embedding_model": "mock-embed"},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(REMOTE_KEY), mock.baseUrl()));
    db = TestDatabase.fresh("embedding_usage");
    node = TestNode.start("embedding-usage", db, TenantRegistry.load(tenantsDir, false), Map.of(
        "atrium.usage.flush-interval", "50ms"));
    http = node.publicHttp();
  }

  @AfterAll
  static void stop() {
    node.close();
    mock.close();
  }

  @BeforeEach
  void reset() {
    mock.reset();
  }

  static String[] headers(String key, String requestId) {
    return new String[] {"Authorization", "Bearer " + key, "x-request-id", requestId};
  }

  static Map<String, Object> row(String requestId, String operation) {
    return UsageTest.row(db, "request_id = ? and operation = ?", requestId, operation);
  }

  @Test
  void aSearchsQueryEmbeddingIsMeteredWithTheRequestId() {
    var searched = http.postJson("/v1/search", "{\"query\": \"Where does the ferry leave?\"}",
        headers(LOCAL_KEY, "req-embed-search"));
    assertThat(searched.statusCode()).as(searched.body()).isEqualTo(200);
    Map<String, Object> row = row("req-embed-search", "query_embedding");
    assertThat(row).containsEntry("tenant_id", "elocal").containsEntry("account_id", "acct_l")
        .containsEntry("key_id", "k_local").containsEntry("route_class", "search").containsEntry("provider", "local")
        .containsEntry("model", "all-minilm-l6-v2").containsEntry("upstream_model", "all-minilm-l6-v2")
        .containsEntry("status", "ok").containsEntry("tokens_counted", true).containsEntry("tokens_out", 0)
        .containsEntry("cost_micro_usd", 0L).containsEntry("run_id", null);
    assertThat(row.get("tokens_in")).isEqualTo(MINILM.countTokens("Where does the ferry leave?")).isNotEqualTo(0);
  }

  @Test
  void aChatTurnsRetrievalIsMeteredWithTheTurnsRequestAndSession() {
    var created = http.postJson("/v1/chat/sessions", "{}", headers(LOCAL_KEY, "req-embed-session"));
    String sessionId = TestHttp.json(created).path("id").asText();
    var turn = http.postJson("/v1/chat/sessions/" + sessionId + "/messages",
        "{\"content\": \"What is the soup of the day?\", \"rag\": true, \"stream\": false}",
        headers(LOCAL_KEY, "req-embed-turn"));
    assertThat(turn.statusCode()).as(turn.body()).isEqualTo(200);
    Map<String, Object> row = row("req-embed-turn", "query_embedding");
    assertThat(row).containsEntry("route_class", "chat").containsEntry("session_id", sessionId)
        .containsEntry("provider", "local").containsEntry("status", "ok").containsEntry("tokens_counted", true);
    assertThat(row.get("tokens_in")).isEqualTo(MINILM.countTokens("What is the soup of the day?"));
    assertThat(row("req-embed-turn", "chat")).containsEntry("session_id", sessionId);
  }

  @Test
  void anIngestRunsEmbeddingBatchesAreMeteredWithTheRunIdAndStep() {
    // 40 sections, 40 chunks: two calls to the embedder (batches of 32).
    StringBuilder manual = new StringBuilder("# Manual\\n\\n");
    for (int i = 0; i < 40; i++) {
      manual.append("## Topic ").append(i).append("\\n\\nParagraph ").append(i)
          .append(" explains how the harbour handles cargo number ").append(i * 7).append(".\\n\\n");
    }
    String runId = ingest(LOCAL_KEY, "manual", manual.toString());
    List<String> texts = chunkTexts("elocal", "manual", 40);
    List<Map<String, Object>> rows = runRows(runId, 2);
    assertThat(rows).allSatisfy(row -> assertThat(row).containsEntry("operation", "embedding")
        .containsEntry("step", "embed/0").containsEntry("route_class", "runs").containsEntry("request_id", null)
        .containsEntry("tenant_id", "elocal").containsEntry("key_id", "k_local").containsEntry("account_id", "acct_l")
        .containsEntry("tier", "PAID").containsEntry("provider", "local").containsEntry("model", "all-minilm-l6-v2")
        .containsEntry("status", "ok").containsEntry("tokens_counted", true));
    // The store embeds the missing texts in the order of their hashes, 32 at a time.
    assertThat(rows).extracting(row -> row.get("tokens_in"))
        .containsExactlyInAnyOrderElementsOf(batchTokens(texts, MINILM::countTokens));
  }

  @Test
  void anOpenAiEmbedderIsMeteredWithTheTokensItReportsAndCountedWhenItFails() {
    var embedded = http.postJson("/v1/embeddings", "{\"model\": \"mock-embed\", \"input\": [\"one two three\", \"four\"]}",
        headers(REMOTE_KEY, "req-embed-remote"));
    assertThat(embedded.statusCode()).as(embedded.body()).isEqualTo(200);
    assertThat(TestHttp.json(embedded).path("usage").path("prompt_tokens").asInt()).isEqualTo(4);
    assertThat(row("req-embed-remote", "embedding")).containsEntry("provider", "openai:up")
        .containsEntry("model", "mock-embed").containsEntry("upstream_model", "mock-embed")
        .containsEntry("tokens_in", 4).containsEntry("tokens_counted", false).containsEntry("status", "ok");

    String runId = ingest(REMOTE_KEY, "guide", "# Guide\\n\\n## Install\\n\\nRun make install.\\n\\n## Use\\n\\n"
        + "Run atrium serve on the quay.");
    List<String> texts = chunkTexts("eremote", "guide", 2);
    Map<String, Object> batch = runRows(runId, 1).get(0);
    assertThat(batch).containsEntry("step", "embed/0").containsEntry("provider", "openai:up")
        .containsEntry("upstream_model", "mock-embed").containsEntry("tokens_counted", false);
    assertThat(batch.get("tokens_in")).isEqualTo(texts.stream().mapToInt(OpenAiJson::countWords).sum());

    mock.configure(MockLlm.Behaviour.defaults().failing(500, Integer.MAX_VALUE));
    var failed = http.postJson("/v1/search", "{\"query\": \"How do I install it?\"}", headers(REMOTE_KEY, "req-embed-down"));
    assertThat(failed.statusCode()).as(failed.body()).isGreaterThanOrEqualTo(500);
    Map<String, Object> row = row("req-embed-down", "query_embedding");
    assertThat(row).containsEntry("status", "failed").containsEntry("tokens_counted", true)
        .containsEntry("provider", "openai:up").containsEntry("route_class", "search");
    // The rewrite failed too, so the question itself was embedded: counted with cl100k.
    assertThat(row.get("tokens_in")).isEqualTo(Tokens.count("How do I install it?"));
  }

  /** Uploads a markdown document and waits for its ingest run to succeed; its run id. */
  static String ingest(String key, String id, String markdown) {
    var accepted = http.postJson("/v1/documents", """
        {"id": "%s", "source": "%s.md", "content_type": "text/markdown", "content": "%s"}""".formatted(id, id, markdown),
        "Authorization", "Bearer " + key);
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    String runId = TestHttp.json(accepted).path("run_id").asText();
    RunApiTest.poll(http, key, runId, "succeeded");
    return runId;
  }

  /** The run's usage rows, once there are {@code count}. */
  static List<Map<String, Object>> runRows(String runId, int count) {
    await(Duration.ofSeconds(20), () -> assertThat(UsageTest.rowsIn(db, "run_id = ?", runId)).hasSize(count));
    return UsageTest.rowsIn(db, "run_id = ?", runId);
  }

  /** The texts of a document's chunks, once the vectors projection has written all {@code count}. */
  static List<String> chunkTexts(String tenant, String docId, int count) {
    List<String> texts = new ArrayList<>();
    await(Duration.ofSeconds(20), () -> {
      texts.clear();
      try (Connection c = DriverManager.getConnection(db.url(), db.ownerUser(), db.ownerPassword());
          var statement = c.prepareStatement("select text from rag_chunks where tenant_id = ? and doc_id = ?")) {
        statement.setString(1, tenant);
        statement.setString(2, docId);
        try (ResultSet rs = statement.executeQuery()) {
          while (rs.next()) {
            texts.add(rs.getString(1));
          }
        }
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
      assertThat(texts).hasSize(count);
    });
    return texts;
  }

  /** The tokens of each batch of 32 texts taken in the order of their hashes, as EmbeddingStore sends them. */
  static List<Object> batchTokens(List<String> texts, ToIntFunction<String> count) {
    List<String> sorted = texts.stream().distinct().sorted(Comparator.comparing(ApiKeys::sha256)).toList();
    List<Object> batches = new ArrayList<>();
    for (int from = 0; from < sorted.size(); from += 32) {
      batches.add(sorted.subList(from, Math.min(sorted.size(), from + 32)).stream().mapToInt(count).sum());
    }
    return batches;
  }
}
