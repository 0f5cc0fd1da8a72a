package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Search and chat over documents on a real node with the local (extractive) answerer. */
class SearchApiTest {
  static final String KEY_A = "search-a-" + java.util.UUID.randomUUID();
  static final String KEY_B = "search-b-" + java.util.UUID.randomUUID();
  static final String KEY_FREE = "search-free-" + java.util.UUID.randomUUID();

  @TempDir static Path tenantsDir;
  static TestNode node;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    String limits = "\"rate_limits\": {\"default\": {\"paid\": {\"capacity\": 100000, \"refill_per_second\": 100000}},"
        + " \"search\": {\"paid\": {\"capacity\": 100000, \"refill_per_second\": 100000}}}";
    Files.writeString(tenantsDir.resolve("sa.json"), """
        {"id": "sa", "display_name": "Search A", "api_keys": [
           {"id": "k_a", "sha256": "%s", "tier": "PAID"}, {"id": "k_free", "sha256": "%s", "tier": "FREE"}],
         "limits": {"max_prompt_chars": 300}, %s}
        """.formatted(ApiKeys.sha256(KEY_A), ApiKeys.sha256(KEY_FREE), limits));
    Files.writeString(tenantsDir.resolve("sb.json"), """
        {"id": "sb", "display_name": "Search B", "api_keys": [{"id": "k_b", "sha256": "%s", "tier": "PAID"}], %s}
        """.formatted(ApiKeys.sha256(KEY_B), limits));
    node = TestNode.start("search", TestDatabase.fresh("search"), TenantRegistry.load(tenantsDir, false), Map.of());
    http = node.publicHttp();
    ingest(KEY_A, "ferry", "timetable.md", "notes", "# Ferry timetable\n\n## Weekdays\n\nThe first ferry to Belle-Ile "
        + "leaves Quiberon at 7:10 every weekday.\n\n## Weekends\n\nOn weekends the first crossing is at 9:00.");
    ingest(KEY_A, "bakery", "bakery.md", "notes", "# Bakery\n\n## Bread\n\nThe bakery on Rue Saint-Michel sells rye bread "
        + "only on Thursdays.\n\n## Hours\n\nIt closes at 13:00 on Sundays.");
    for (int i = 0; i < 12; i++) {
      ingest(KEY_A, "a" + i, "alpha/" + i + ".md", "alpha", "# Alpha note " + i + "\n\nAlpha harbour record " + i
          + " lists the boats moored on pontoon " + i + ".");
      ingest(KEY_A, "b" + i, "beta/" + i + ".md", "beta", "# Beta note " + i + "\n\nBeta harbour record " + i
          + " lists the boats moored on pontoon " + i + ".");
    }
    ingest(KEY_B, "other", "other.md", "notes", "# Other\n\nThe first ferry of tenant B leaves at 5:55.");
    RUNS.forEach((run, key) -> RunApiTest.poll(http, key, run, "succeeded"));
    awaitChunks(KEY_A, "ferry");
    awaitChunks(KEY_A, "b11");
    awaitChunks(KEY_B, "other");
  }

  static final Map<String, String> RUNS = new java.util.concurrent.ConcurrentHashMap<>();

  @AfterAll
  static void stop() {
    node.close();
  }

  static void ingest(String key, String id, String source, String repo, String content) {
    String json = "{\"id\": \"" + id + "\", \"source\": \"" + source + "\", \"content_type\": \"text/markdown\", "
        + "\"metadata\": {\"repo\": \"" + repo + "\", \"tags\": [\"" + repo + "\"]}, \"content\": "
        + dev.atrium.core.Json.MAPPER.valueToTree(content) + "}";
    var r = http.postJson("/v1/documents", json, "Authorization", "Bearer " + key);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    RUNS.put(TestHttp.json(r).path("run_id").asText(), key);
  }

  static void awaitChunks(String key, String docId) {
    ChatApiTest.await(Duration.ofSeconds(60), () -> assertThat(
        http.get("/v1/documents/" + docId, "Authorization", "Bearer " + key).statusCode()).isEqualTo(200));
    ChatApiTest.await(Duration.ofSeconds(30), () -> assertThat(TestHttp.json(search(key, "{\"query\": \"" + docId
        + "\", \"top_k\": 50}")).path("sources").findValuesAsText("doc_id")).contains(docId));
  }

  static java.net.http.HttpResponse<String> search(String key, String body) {
    return http.postJson("/v1/search", body, "Authorization", "Bearer " + key);
  }

  @Test
  void answersWithCitedSourcesFromTheRightDocument() {
    var r = search(KEY_A, "{\"query\": \"When does the first ferry to Belle-Ile leave on a weekday?\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = TestHttp.json(r);
    assertThat(body.path("sources").get(0).path("doc_id").asText()).isEqualTo("ferry");
    assertThat(body.path("sources").get(0).path("source").asText()).isEqualTo("timetable.md");
    assertThat(body.path("sources").get(0).path("score").asDouble()).isPositive();
    assertThat(body.path("answer").asText()).contains("7:10").contains("[1]");
    assertThat(body.path("confidence").asDouble()).isBetween(0.0, 1.0);
    assertThat(body.path("follow_ups").size()).isBetween(1, 3);
    assertThat(body.path("cached").asBoolean()).isFalse();
  }

  @Test
  void aRepeatIsServedFromTheCacheUntilADocumentChanges() {
    String query = "Which day does the bakery sell rye bread?";
    assertThat(TestHttp.json(search(KEY_A, "{\"query\": \"" + query + "\"}")).path("cached").asBoolean()).isFalse();
    JsonNode repeat = TestHttp.json(search(KEY_A, "{\"query\": \"  which day does the BAKERY sell rye bread? \"}"));
    assertThat(repeat.path("cached").asBoolean()).isTrue();
    assertThat(repeat.path("answer").asText()).contains("Thursdays");

    ingest(KEY_A, "bakery", "bakery.md", "notes", "# Bakery\n\n## Bread\n\nThe bakery on Rue Saint-Michel now sells "
        + "rye bread only on Fridays.");
    ChatApiTest.await(Duration.ofSeconds(60), () -> {
      JsonNode fresh = TestHttp.json(search(KEY_A, "{\"query\": \"" + query + "\"}"));
      assertThat(fresh.path("answer").asText()).contains("Fridays");
    });
  }

  @Test
  void filtersNarrowTheResultsAndStillReturnK() {
    JsonNode alpha = TestHttp.json(search(KEY_A,
        "{\"query\": \"harbour record boats moored on pontoon\", \"top_k\": 8, \"filters\": {\"repo\": \"alpha\"}}"));
    assertThat(alpha.path("sources")).hasSize(8);
    assertThat(alpha.path("sources").findValuesAsText("source")).allSatisfy(s -> assertThat(s).startsWith("alpha/"));
    JsonNode beta = TestHttp.json(search(KEY_A,
        "{\"query\": \"harbour record boats moored on pontoon\", \"top_k\": 5, \"filters\": {\"source_prefix\": \"beta/\", \"tags\": [\"beta\"]}}"));
    assertThat(beta.path("sources")).hasSize(5);
    assertThat(beta.path("sources").findValuesAsText("source")).allSatisfy(s -> assertThat(s).startsWith("beta/"));
    JsonNode two = TestHttp.json(search(KEY_A,
        "{\"query\": \"harbour\", \"top_k\": 10, \"filters\": {\"doc_ids\": [\"a3\", \"b7\"]}}"));
    assertThat(two.path("sources").findValuesAsText("doc_id")).containsExactlyInAnyOrder("a3", "b7");
  }

  @Test
  void anotherTenantNeverSeesTheseChunks() {
    JsonNode b = TestHttp.json(search(KEY_B, "{\"query\": \"first ferry to Belle-Ile\", \"top_k\": 50}"));
    assertThat(b.path("sources").findValuesAsText("doc_id")).containsOnly("other");
    var created = http.postJson("/v1/chat/sessions", "{\"rag\": true}", "Authorization", "Bearer " + KEY_B);
    String session = TestHttp.json(created).path("id").asText();
    var turn = http.postJson("/v1/chat/sessions/" + session + "/messages",
        "{\"content\": \"When does the first ferry to Belle-Ile leave?\"}", "Authorization", "Bearer " + KEY_B);
    SseEvents events = SseEvents.parse(turn.body());
    assertThat(events.ofType("citation")).allSatisfy(c -> assertThat(c.json().path("doc_id").asText()).isEqualTo("other"));
    assertThat(events.text()).doesNotContain("7:10");
  }

  @Test
  void chatWithRetrievalStreamsCitationsAndAnswersFromThePassage() {
    var created = http.postJson("/v1/chat/sessions", "{\"title\": \"travel\"}", "Authorization", "Bearer " + KEY_A);
    String session = TestHttp.json(created).path("id").asText();
    var turn = http.postJson("/v1/chat/sessions/" + session + "/messages",
        "{\"content\": \"What time is the first weekday ferry from Quiberon?\", \"rag\": true}", "Authorization", "Bearer " + KEY_A);
    assertThat(turn.statusCode()).isEqualTo(200);
    SseEvents events = SseEvents.parse(turn.body());
    assertThat(events.types()).startsWith("message.start", "citation").contains("delta", "done");
    assertThat(events.first("citation").json().path("doc_id").asText()).isEqualTo("ferry");
    assertThat(events.first("citation").json().path("index").asInt()).isEqualTo(1);
    assertThat(events.text()).contains("7:10").contains("[1]");

    // Without retrieval the local responder says it has no model.
    var plain = http.postJson("/v1/chat/sessions/" + session + "/messages",
        "{\"content\": \"What time is the first weekday ferry?\", \"rag\": false}", "Authorization", "Bearer " + KEY_A);
    assertThat(SseEvents.parse(plain.body()).ofType("citation")).isEmpty();
    assertThat(SseEvents.parse(plain.body()).text()).contains("no language model is configured");
  }

  @Test
  void badSearchesAreRefused() {
    assertThat(search(KEY_A, "{\"query\": \"  \"}").statusCode()).isEqualTo(400);
    var tooLong = search(KEY_A, "{\"query\": \"" + "w".repeat(301) + "\"}");
    assertThat(tooLong.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(tooLong).path("detail").asText()).contains("max_prompt_chars").contains("300");
    assertThat(search(KEY_A, "{\"query\": \"x\", \"top_k\": 0}").statusCode()).isEqualTo(400);
    assertThat(search(KEY_A, "{\"query\": \"x\", \"filters\": {\"colour\": \"red\"}}").statusCode()).isEqualTo(400);
    assertThat(search(KEY_FREE, "{\"query\": \"ferry\"}").statusCode()).isEqualTo(403);
  }
}
