package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.TestArchives;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PAID path of {@code POST /v1/repos/ask} on a real node: the repository is ingested as
 * documents once per revision while {@code ingest.progress} streams, the answer cites the
 * repository's own files only (not another repository of the tenant, not another tenant's
 * repository of the same name), and the documents carry repo, user, revision and expiry.
 */
class RepoAskPersistentTest {
  static final String KEY = "repopaid-" + UUID.randomUUID();
  static final String OTHER_KEY = "repoother-" + UUID.randomUUID();
  static final String USER_KEY_1 = "repouser1-" + UUID.randomUUID();
  static final String USER_KEY_2 = "repouser2-" + UUID.randomUUID();

  @TempDir static Path tenantsDir;
  static DatabaseSettings db;
  static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(tenantsDir.resolve("repopaid.json"), """
        {"id": "repopaid", "display_name": "Repos PAID", "api_keys": [{"id": "k_paid", "sha256": "%s", "tier": "PAID"}],
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY)));
    Files.writeString(tenantsDir.resolve("repoother.json"), """
        {"id": "repoother", "display_name": "Repos, another tenant",
         "api_keys": [{"id": "k_other", "sha256": "%s", "tier": "PAID"}],
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(OTHER_KEY)));
    Files.writeString(tenantsDir.resolve("repouser.json"), """
        {"id": "repouser", "display_name": "Repos per user",
         "api_keys": [{"id": "k_one", "sha256": "%s", "tier": "PAID"}, {"id": "k_two", "sha256": "%s", "tier": "PAID"}],
         "documents": {"repo_scope": "user", "repo_ttl_days": 2},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(USER_KEY_1), ApiKeys.sha256(USER_KEY_2)));
    db = TestDatabase.fresh("repoaskpaid");
    node = TestNode.start("repoaskpaid", db, TenantRegistry.load(tenantsDir, false), Map.of());
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static byte[] zip(String... pathAndText) throws Exception {
    return TestArchives.zip(RepoAskStatelessTest.files(pathAndText));
  }

  static SseEvents ask(String key, String repo, byte[] archive, String question) {
    HttpResponse<String> r = node.publicHttp().send(node.publicHttp().request("/v1/repos/ask?repo=" + repo + "&"
            + RepoAskStatelessTest.q(question))
        .header("Authorization", "Bearer " + key).header("Content-Type", "application/zip")
        .POST(HttpRequest.BodyPublishers.ofByteArray(archive)));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().allValues("cache-control")).containsExactly("private, max-age=0");
    SseEvents events = SseEvents.parse(r.body());
    assertThat(events.types()).as(r.body()).doesNotContain("error").endsWith("done");
    return events;
  }

  static List<Map<String, Object>> documents(String tenant, String repo) {
    return UsageTest.query(db, "select doc_id, source, version, metadata::text as metadata, expires_at from documents "
        + "where tenant_id = ? and metadata->>'repo' = ? order by source", tenant, repo);
  }

  static Set<String> docIds(String tenant, String repo) {
    return documents(tenant, repo).stream().map(d -> (String) d.get("doc_id")).collect(Collectors.toSet());
  }

  static long runs(String tenant) {
    return ((Number) UsageTest.query(db, "select count(*) as n from runs where tenant_id = ?", tenant).get(0).get("n"))
        .longValue();
  }

  static Set<String> citedDocs(SseEvents events) {
    return events.ofType("citation").stream().map(e -> e.json().path("doc_id").asText()).collect(Collectors.toSet());
  }

  @Test
  void aPaidQuestionIngestsTheRepositoryStreamingProgressThenAnswersCitingItsFiles() throws Exception {
    byte[] archive = zip("README.md", "# Lighthouse\nThe lighthouse keeper polishes the brass lens every dawn.\n",
        "docs/storms.md", "# Storms\nDuring storms the foghorn sounds twice a minute.\n");
    SseEvents events = ask(KEY, "lighthouse", archive, "How often does the foghorn sound during storms?");

    List<String> types = events.types();
    assertThat(types.get(0)).isEqualTo("repo");
    JsonNode repo = events.first("repo").json();
    assertThat(repo.path("mode").asText()).isEqualTo("persistent");
    assertThat(repo.path("repo").asText()).isEqualTo("lighthouse");
    assertThat(repo.path("revision").asText()).isEqualTo(RepoAskStatelessTest.sha256(archive));
    assertThat(repo.path("files").asInt()).isEqualTo(2);
    List<SseEvents.Event> progress = events.ofType("ingest.progress");
    assertThat(progress.get(0).json().path("status").asText()).isEqualTo("ingesting");
    JsonNode done = progress.get(progress.size() - 1).json();
    assertThat(done.path("status").asText()).isEqualTo("done");
    assertThat(done.path("files_done").asInt()).isEqualTo(2);
    assertThat(done.path("files_total").asInt()).isEqualTo(2);
    assertThat(types.lastIndexOf("ingest.progress")).isLessThan(types.indexOf("citation"));
    assertThat(types.lastIndexOf("citation")).isLessThan(types.indexOf("delta"));
    assertThat(events.ofType("citation")).extracting(e -> e.json().path("source").asText())
        .contains("docs/storms.md").allMatch(s -> Set.of("README.md", "docs/storms.md").contains(s));
    assertThat(events.text()).contains("twice a minute");

    List<Map<String, Object>> docs = documents("repopaid", "lighthouse");
    assertThat(docs).extracting(d -> d.get("source")).containsExactly("README.md", "docs/storms.md");
    for (Map<String, Object> doc : docs) {
      JsonNode metadata = Json.MAPPER.readTree((String) doc.get("metadata"));
      assertThat(metadata.path("repo").asText()).isEqualTo("lighthouse");
      assertThat(metadata.path("user").asText()).as("the key: no user").isEqualTo("k_paid");
      assertThat(metadata.path("revision").asText()).isEqualTo(RepoAskStatelessTest.sha256(archive));
      Instant expires = Instant.parse(metadata.path("expires_at").asText());
      assertThat(expires).isBetween(Instant.now().plus(29, ChronoUnit.DAYS), Instant.now().plus(31, ChronoUnit.DAYS));
      assertThat(((java.sql.Timestamp) doc.get("expires_at")).toInstant()).as("the row expires: chunk expiry")
          .isEqualTo(expires);
    }
    assertThat(citedDocs(events)).isSubsetOf(docIds("repopaid", "lighthouse"));
  }

  @Test
  void theSameRevisionIsIngestedOnceAndANewOneReplacesIt() throws Exception {
    byte[] first = zip("guide.md", "# Guide\nThe ferry leaves the quay at seven.\n",
        "old.md", "# Old\nThe old timetable listed a midnight crossing.\n");
    SseEvents one = ask(KEY, "ferry", first, "When does the ferry leave?");
    assertThat(one.ofType("ingest.progress").get(0).json().path("status").asText()).isEqualTo("ingesting");
    Eventually.await(Duration.ofSeconds(20), () -> assertThat(UsageTest.query(db,
        "select 1 from runs where tenant_id = 'repopaid' and status = 'succeeded'")).isNotEmpty());
    long runsBefore = runs("repopaid");
    List<Map<String, Object>> docsBefore = documents("repopaid", "ferry");

    SseEvents again = ask(KEY, "ferry", first, "When does the ferry leave?");
    assertThat(again.ofType("ingest.progress")).hasSize(1);
    JsonNode cached = again.first("ingest.progress").json();
    assertThat(cached.path("status").asText()).isEqualTo("cached");
    assertThat(cached.path("files_done").asInt()).isEqualTo(2);
    assertThat(again.text()).contains("seven");
    assertThat(runs("repopaid")).as("no second ingest run").isEqualTo(runsBefore);
    assertThat(documents("repopaid", "ferry")).as("same documents, same versions").isEqualTo(docsBefore);

    byte[] second = zip("guide.md", "# Guide\nThe ferry now leaves the quay at nine.\n");
    SseEvents changed = ask(KEY, "ferry", second, "When does the ferry leave?");
    List<SseEvents.Event> progress = changed.ofType("ingest.progress");
    assertThat(progress.get(0).json().path("status").asText()).isEqualTo("ingesting");
    assertThat(progress.get(progress.size() - 1).json().path("status").asText()).isEqualTo("done");
    assertThat(changed.first("repo").json().path("revision").asText()).isEqualTo(RepoAskStatelessTest.sha256(second));
    assertThat(changed.text()).contains("nine").doesNotContain("seven");
    String secondRevision = RepoAskStatelessTest.sha256(second);
    Eventually.await(Duration.ofSeconds(20), () -> {
      List<Map<String, Object>> docs = documents("repopaid", "ferry");
      assertThat(docs).as("the file the new revision lacks is gone").extracting(d -> d.get("source"))
          .containsExactly("guide.md");
      assertThat(docs.get(0).get("version")).isEqualTo(2);
      assertThat(docs.get(0).get("metadata").toString()).contains(secondRevision);
    });
  }

  @Test
  void theAnswerCitesOnlyTheRepositoryAskedAbout() throws Exception {
    byte[] alpha = zip("alpha/harbour.md", "# Harbour\nThe harbour crane lifts containers of tea.\n");
    byte[] beta = zip("beta/crane.md", "# Crane\nThe crane in the beta yard lifts containers of copper.\n");
    ask(KEY, "beta", beta, "What does the crane lift?");
    SseEvents fromAlpha = ask(KEY, "alpha", alpha, "What does the crane lift?");
    assertThat(citedDocs(fromAlpha)).isNotEmpty().isSubsetOf(docIds("repopaid", "alpha"))
        .doesNotContainAnyElementsOf(docIds("repopaid", "beta"));
    assertThat(fromAlpha.text()).contains("tea").doesNotContain("copper");
  }

  @Test
  void anotherTenantAskingWithTheSameRepositoryNameGetsNoneOfTheFirstTenantsPassages() throws Exception {
    ask(KEY, "shared", zip("secret.md", "# Secret\nThe vault code of the first tenant is orchid.\n"),
        "What is the vault code?");
    SseEvents other = ask(OTHER_KEY, "shared", zip("notes.md", "# Notes\nThe second tenant keeps bicycles here.\n"),
        "What is the vault code?");
    assertThat(other.ofType("citation")).extracting(e -> e.json().path("snippet").asText())
        .noneMatch(s -> s.contains("orchid"));
    assertThat(citedDocs(other)).isSubsetOf(docIds("repoother", "shared"));
    assertThat(other.text()).doesNotContain("orchid");
    assertThat(documents("repoother", "shared")).extracting(d -> d.get("source")).containsExactly("notes.md");
  }

  @Test
  void withUserScopeEachOwnerReadsOnlyTheRepositoryItIngested() throws Exception {
    SseEvents one = ask(USER_KEY_1, "diary", zip("diary.md", "# Diary\nThe first owner's garden grows tulips.\n"),
        "What grows in the garden?");
    assertThat(one.text()).contains("tulips");
    SseEvents two = ask(USER_KEY_2, "diary", zip("diary.md", "# Diary\nThe second owner's garden grows leeks.\n"),
        "What grows in the garden?");
    assertThat(two.ofType("ingest.progress").get(0).json().path("status").asText())
        .as("another owner's revision is not this one's").isEqualTo("ingesting");
    assertThat(two.text()).contains("leeks").doesNotContain("tulips");
    List<Map<String, Object>> docs = documents("repouser", "diary");
    assertThat(docs).hasSize(2).extracting(d -> Json.MAPPER.readTree((String) d.get("metadata")).path("user").asText())
        .containsExactlyInAnyOrder("k_one", "k_two");
    Instant expires = Instant.parse(Json.MAPPER.readTree((String) docs.get(0).get("metadata")).path("expires_at").asText());
    assertThat(expires).as("repo_ttl_days: 2").isBefore(Instant.now().plus(3, ChronoUnit.DAYS));
  }

  @Test
  void aPaidArchiveWithoutARepositoryNameIsRefused() throws Exception {
    HttpResponse<String> r = node.publicHttp().send(node.publicHttp().request("/v1/repos/ask?question=why")
        .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/zip")
        .POST(HttpRequest.BodyPublishers.ofByteArray(zip("a.md", "text"))));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(r).path("param").asText()).isEqualTo("repo");
    assertThat(r.headers().firstValue("cache-control")).contains("private, max-age=0");
    assertThat(new String(r.body().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).contains("repo");
  }
}
