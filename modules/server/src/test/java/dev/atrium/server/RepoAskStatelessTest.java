package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.Eventually;
import dev.atrium.testkit.TestArchives;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The FREE stateless path of {@code POST /v1/repos/ask} on a real node: a FREE key's
 * question about an archive is answered over SSE from the archive's text, with the local
 * responder quoting it, while no tenant-data table gains a row and the journal gains no
 * event (the limiter's and budget's state and the usage row are the only writes); the
 * refusals before the stream (flag off, long question, rate limit, oversized archive, bad
 * source URL) and the source_url form, fetched from a server on 127.0.0.1.
 */
class RepoAskStatelessTest {
  static final String FREE_KEY = "repofree-" + UUID.randomUUID();
  static final String FREE_KEY_2 = "repofree2-" + UUID.randomUUID();
  static final String OFF_KEY = "repooff-" + UUID.randomUUID();
  static final long ARCHIVE_LIMIT = 200_000;

  @TempDir static Path tenantsDir;
  static DatabaseSettings db;
  static TestNode node;
  static HttpServer archives;
  static byte[] servedZip;

  static final Map<String, byte[]> REPO = files(
      "README.md", "# Lighthouse\nLighthouse is a tool that rotates the beacon every ninety seconds.\n",
      "src/Beacon.java", "/** The beacon glows amber when the harbour fog rises. */\nclass Beacon {}\n",
      "assets/logo.png", "\u0000PNG binary");

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(tenantsDir.resolve("repofree.json"), """
        {"id": "repofree", "display_name": "Repos FREE",
         "api_keys": [{"id": "k_free", "sha256": "%s", "tier": "FREE"}, {"id": "k_free2", "sha256": "%s", "tier": "FREE"}],
         "features": {"stateless_rag_split": true}, "anonymous_route_classes": ["search"],
         "documents": {"max_archive_bytes": %d, "stateless_max_chars": 5000},
         "rate_limits": {"default": {"free": {"capacity": 1000, "refill_per_second": 1000}}}}
        """.formatted(ApiKeys.sha256(FREE_KEY), ApiKeys.sha256(FREE_KEY_2), ARCHIVE_LIMIT));
    Files.writeString(tenantsDir.resolve("repooff.json"), """
        {"id": "repooff", "display_name": "Repos, flag off",
         "api_keys": [{"id": "k_off", "sha256": "%s", "tier": "FREE"}],
         "rate_limits": {"default": {"free": {"capacity": 1000, "refill_per_second": 1000}}}}
        """.formatted(ApiKeys.sha256(OFF_KEY)));
    // The shipped demo tenant as it is: 200 characters and one question a minute for FREE.
    Files.copy(TestNode.SHIPPED_TENANTS.resolve("demo.json"), tenantsDir.resolve("demo.json"));
    db = TestDatabase.fresh("repoaskfree");
    node = TestNode.start("repoaskfree", db, TenantRegistry.load(tenantsDir, false),
        Map.of("atrium.outbound.request.allow", List.of("127.0.0.1")));
    servedZip = TestArchives.zip(REPO);
    archives = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    archives.createContext("/repo.zip", exchange -> {
      exchange.getResponseHeaders().add("Content-Type", "application/zip");
      exchange.getResponseHeaders().add("ETag", "\"lighthouse-v1\"");
      exchange.sendResponseHeaders(200, servedZip.length);
      exchange.getResponseBody().write(servedZip);
      exchange.close();
    });
    archives.createContext("/big.tgz", exchange -> {
      byte[] noise = new byte[(int) ARCHIVE_LIMIT * 2];
      new java.util.Random(3).nextBytes(noise);
      exchange.sendResponseHeaders(200, 0);
      exchange.getResponseBody().write(noise);
      exchange.close();
    });
    archives.start();
  }

  @AfterAll
  static void stop() {
    if (archives != null) {
      archives.stop(0);
    }
    node.close();
  }

  static Map<String, byte[]> files(String... pathAndText) {
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (int i = 0; i < pathAndText.length; i += 2) {
      files.put(pathAndText[i], pathAndText[i + 1].getBytes(StandardCharsets.UTF_8));
    }
    return files;
  }

  static HttpResponse<String> askRaw(String key, String type, byte[] archive, String query) {
    return node.publicHttp().send(node.publicHttp().request("/v1/repos/ask?" + query)
        .header("Authorization", "Bearer " + key).header("Content-Type", type)
        .POST(HttpRequest.BodyPublishers.ofByteArray(archive)));
  }

  static String q(String question) {
    return "question=" + java.net.URLEncoder.encode(question, StandardCharsets.UTF_8);
  }

  static HttpResponse<String> askJson(String key, String json) {
    return node.publicHttp().postJson("/v1/repos/ask", json, "Authorization", "Bearer " + key);
  }

  // ---- the answer, and nothing stored ------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"zip", "tgz"})
  void aFreeQuestionIsAnsweredFromTheArchiveAndStoresNothing(String format) throws Exception {
    byte[] archive = format.equals("zip") ? TestArchives.zip(REPO) : TestArchives.tarGz(REPO);
    String type = format.equals("zip") ? "application/zip" : "application/gzip";
    // A first question, so whatever a node writes once (a limiter's first state) is written before the count.
    settled(askRaw(FREE_KEY, type, archive, q("What is the project?")));
    Map<String, Long> before = snapshot();

    HttpResponse<String> r = askRaw(FREE_KEY, type, archive, q("What colour does the beacon glow in fog?"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
    assertThat(r.headers().allValues("cache-control")).containsExactly("private, max-age=0");
    SseEvents events = SseEvents.parse(r.body());
    assertThat(events.types().get(0)).isEqualTo("repo");
    assertThat(events.types()).doesNotContain("ingest.progress", "citation", "error")
        .contains("delta", "usage").endsWith("done");
    assertThat(events.types().indexOf("usage")).isGreaterThan(events.types().lastIndexOf("delta"));
    JsonNode repo = events.first("repo").json();
    assertThat(repo.path("mode").asText()).isEqualTo("stateless");
    assertThat(repo.path("repo").asText()).isEqualTo("upload");
    assertThat(repo.path("revision").asText()).isEqualTo(sha256(archive));
    assertThat(repo.path("files").asInt()).as("the binary is skipped").isEqualTo(2);
    assertThat(repo.path("truncated").asBoolean()).isFalse();
    assertThat(repo.path("chars").asInt()).isEqualTo(flattenedLength(REPO, "README.md", "src/Beacon.java"));
    // The local responder quotes the line of the archive that answers.
    assertThat(events.text()).contains("amber").contains("fog");
    assertThat(events.first("usage").json().path("tokens_out").asInt()).isPositive();
    assertThat(events.first("done").json().path("finish_reason").asText()).isEqualTo("stop");

    settled(r);
    Map<String, Long> after = snapshot();
    assertThat(after.get("usage_events")).isEqualTo(before.get("usage_events") + 1);
    after.remove("usage_events");
    before.remove("usage_events");
    assertThat(after).as("no tenant-data row, no journal event").isEqualTo(before);
    Map<String, Object> usage = UsageTest.query(db, "select * from usage_events where request_id = ?",
        r.headers().firstValue("x-request-id").orElseThrow()).get(0);
    assertThat(usage).containsEntry("operation", "repo_answer").containsEntry("tier", "FREE")
        .containsEntry("route_class", "search").containsEntry("cache_hit", false);
    assertThat(node.adminHttp().get("/metrics").body())
        .containsPattern("atrium_stateless_requests_total\\{tenant=\"repofree\"} [1-9]");
  }

  @Test
  void theFlattenedTextIsCutAtMaxChars() throws Exception {
    Map<String, byte[]> big = files("a.md", "alpha line about sailing.\n".repeat(40), "b.md", "bravo text.\n".repeat(40));
    HttpResponse<String> r = askRaw(FREE_KEY, "application/zip", TestArchives.zip(big),
        q("What about sailing?") + "&max_chars=300&repo=sails");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode repo = SseEvents.parse(r.body()).first("repo").json();
    assertThat(repo.path("truncated").asBoolean()).isTrue();
    assertThat(repo.path("chars").asInt()).isBetween(250, 300);
    assertThat(repo.path("files").asInt()).isEqualTo(1);
    assertThat(repo.path("repo").asText()).isEqualTo("sails");
    assertThat(SseEvents.parse(r.body()).text()).contains("sailing");
  }

  @Test
  void maxCharsOverTheTenantsCapIsRefused() throws Exception {
    HttpResponse<String> r = askRaw(FREE_KEY, "application/zip", TestArchives.zip(REPO), q("Why?") + "&max_chars=5001");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("invalid_field");
    assertThat(TestHttp.json(r).path("param").asText()).isEqualTo("max_chars");
    assertThat(r.headers().firstValue("cache-control")).contains("private, max-age=0");
  }

  // ---- source_url ---------------------------------------------------------------------------

  @Test
  void anArchiveIsFetchedFromSourceUrl() {
    String url = "http://127.0.0.1:" + archives.getAddress().getPort() + "/repo.zip";
    HttpResponse<String> r = askJson(FREE_KEY, "{\"question\": \"How often does the beacon rotate?\", \"source_url\": \""
        + url + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    SseEvents events = SseEvents.parse(r.body());
    JsonNode repo = events.first("repo").json();
    assertThat(repo.path("repo").asText()).isEqualTo(url);
    assertThat(repo.path("revision").asText()).as("the ETag").isEqualTo("lighthouse-v1");
    assertThat(events.text()).contains("ninety seconds");
  }

  @Test
  void aSourceUrlTheGuardRefusesIs400() {
    HttpResponse<String> r = askJson(FREE_KEY,
        "{\"question\": \"What is there?\", \"source_url\": \"http://169.254.169.254/latest/meta-data.zip\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("application/problem+json");
    assertThat(TestHttp.json(r).path("param").asText()).isEqualTo("source_url");
    assertThat(TestHttp.json(r).path("code").asText()).isNotBlank().isNotEqualTo("internal_error");
    assertThat(TestHttp.json(r).path("request_id").asText()).isNotBlank();
  }

  @Test
  void aSourceArchiveOverTheLimitIs413WhileItStreams() {
    String url = "http://127.0.0.1:" + archives.getAddress().getPort() + "/big.tgz";
    HttpResponse<String> r = askJson(FREE_KEY, "{\"question\": \"What is there?\", \"source_url\": \"" + url + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("payload_too_large");
    assertThat(TestHttp.json(r).path("limit_bytes").asLong()).isEqualTo(ARCHIVE_LIMIT);
  }

  @Test
  void anUnreachableSourceIs502() throws Exception {
    int closed;
    try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      closed = socket.getLocalPort();
    }
    HttpResponse<String> r = askJson(FREE_KEY, "{\"question\": \"What is there?\", \"source_url\": \"http://127.0.0.1:"
        + closed + "/gone.zip\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("source_unreachable");
  }

  // ---- refusals before the stream ------------------------------------------------------------

  @Test
  void withTheFlagOffFreeKeysAreRefused() throws Exception {
    HttpResponse<String> r = askRaw(OFF_KEY, "application/zip", TestArchives.zip(REPO), q("What is it?"));
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(TestHttp.json(r).path("code").asText()).isEqualTo("repos_need_paid_key");
    assertThat(TestHttp.json(r).path("detail").asText()).contains("PAID").contains("stateless_rag_split");
  }

  @Test
  void theDemoTenantHoldsFreeQuestionsTo200CharactersAndOneAMinute() throws Exception {
    byte[] archive = TestArchives.zip(REPO);
    HttpResponse<String> tooLong = askRaw("demo-free-key", "application/zip", archive, q("w".repeat(201)));
    assertThat(tooLong.statusCode()).as(tooLong.body()).isEqualTo(400);
    assertThat(TestHttp.json(tooLong).path("code").asText()).isEqualTo("query_too_long");
    assertThat(TestHttp.json(tooLong).path("limit_chars").asInt()).isEqualTo(200);
    HttpResponse<String> second = askRaw("demo-free-key", "application/zip", archive, q("w".repeat(200)));
    assertThat(second.statusCode()).as("the second question of the minute").isEqualTo(429);
    assertThat(second.headers().firstValue("retry-after")).isPresent();
    assertThat(second.headers().firstValue("cache-control")).contains("private, max-age=0");
  }

  @Test
  void otherBodiesAndMissingQuestionsAreRefused() throws Exception {
    HttpResponse<String> text = askRaw(FREE_KEY, "text/plain", "hello".getBytes(StandardCharsets.UTF_8), q("Hi?"));
    assertThat(text.statusCode()).isEqualTo(415);
    HttpResponse<String> noQuestion = askRaw(FREE_KEY, "application/zip", TestArchives.zip(REPO), "repo=x");
    assertThat(noQuestion.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(noQuestion).path("param").asText()).isEqualTo("question");
    HttpResponse<String> empty = askRaw(FREE_KEY, "application/zip", TestArchives.zip(files("logo.png", "\u0000")), q("Hi?"));
    assertThat(empty.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(empty).path("code").asText()).isEqualTo("empty_archive");
    HttpResponse<String> escape = askRaw(FREE_KEY, "application/zip", TestArchives.zip(files("../etc/passwd", "root")),
        q("Hi?"));
    assertThat(escape.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(escape).path("code").asText()).isEqualTo("archive_path_traversal");
    HttpResponse<String> noSource = askJson(FREE_KEY, "{\"question\": \"Hi?\"}");
    assertThat(noSource.statusCode()).isEqualTo(400);
    assertThat(TestHttp.json(noSource).path("param").asText()).isEqualTo("source_url");
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void anArchiveDeclaredOverMaxArchiveBytesIs413BeforeItIsSent(boolean expect) throws Exception {
    try (UploadLimitTest.Raw raw = new UploadLimitTest.Raw(node.publicAddress(), FREE_KEY_2)) {
      raw.head("POST", "/v1/repos/ask?question=why", "application/zip", 20L * 1024 * 1024, expect);
      UploadLimitTest.Response r = raw.read();
      assertThat(r.status()).as("no 100 Continue, the final answer").isEqualTo(413);
      assertThat(r.json().path("code").asText()).isEqualTo("payload_too_large");
      assertThat(r.json().path("limit_bytes").asLong()).isEqualTo(ARCHIVE_LIMIT);
      assertThat(r.json().path("detail").asText()).contains("max_archive_bytes");
      assertThat(raw.written.get()).isZero();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aChunkedArchiveIsCutOffAtMaxArchiveBytesWhileItStreams(boolean expect) throws Exception {
    try (UploadLimitTest.Raw raw = new UploadLimitTest.Raw(node.publicAddress(), FREE_KEY_2)) {
      raw.head("POST", "/v1/repos/ask?question=why", "application/zip", -1, expect);
      if (expect) {
        assertThat(raw.read().status()).as("a body without a length is invited").isEqualTo(100);
      }
      var writer = raw.writeChunksUntilStopped();
      UploadLimitTest.Response r = raw.read();
      long writtenAtAnswer = raw.written.get();
      raw.stop.set(true);
      writer.exceptionally(e -> null).join();
      assertThat(r.status()).isEqualTo(413);
      assertThat(r.json().path("limit_bytes").asLong()).isEqualTo(ARCHIVE_LIMIT);
      assertThat(writtenAtAnswer).as("answered near the limit, not after the whole body")
          .isGreaterThan(ARCHIVE_LIMIT).isLessThan(ARCHIVE_LIMIT + UploadLimitTest.BUFFERS);
    }
  }

  @Test
  void anAnonymousCallerIsFreeAndAnsweredStatelessly() throws Exception {
    HttpResponse<String> r = node.publicHttp().send(node.publicHttp().request("/v1/repos/ask?"
            + q("What colour is the beacon?"))
        .header("x-tenant-id", "repofree").header("Content-Type", "application/zip")
        .POST(HttpRequest.BodyPublishers.ofByteArray(TestArchives.zip(REPO))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    SseEvents events = SseEvents.parse(r.body());
    assertThat(events.first("repo").json().path("mode").asText()).isEqualTo("stateless");
    assertThat(events.text()).contains("amber");
    HttpResponse<String> off = node.publicHttp().send(node.publicHttp().request("/v1/repos/ask?" + q("Why?"))
        .header("x-tenant-id", "repooff").header("Content-Type", "application/zip")
        .POST(HttpRequest.BodyPublishers.ofByteArray(TestArchives.zip(REPO))));
    assertThat(off.statusCode()).as("repooff opens search to no anonymous caller").isEqualTo(401);
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Waits until the usage row of the answer {@code r} is written (the recorder writes in batches). */
  private static void settled(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String requestId = r.headers().firstValue("x-request-id").orElseThrow();
    Eventually.await(Duration.ofSeconds(20), () ->
        assertThat(UsageTest.query(db, "select 1 from usage_events where request_id = ?", requestId)).hasSize(1));
  }

  /**
   * Row counts of every table of the public schema, read as the owner (no row-level
   * security), with the journal's events per entity type and durable state other than the
   * limiter's and budgets' (allowed: the only writes a FREE answer may make besides usage).
   */
  static Map<String, Long> snapshot() {
    Map<String, Long> counts = new TreeMap<>();
    for (Map<String, Object> t : UsageTest.query(db,
        "select tablename from pg_tables where schemaname = 'public' order by tablename")) {
      String table = (String) t.get("tablename");
      String where = table.equals("durable_state")
          ? " where persistence_id not like 'TokenBucket|%' and persistence_id not like 'Budget|%'" : "";
      counts.put(table, ((Number) UsageTest.query(db, "select count(*) as n from " + table + where).get(0).get("n"))
          .longValue());
    }
    for (Map<String, Object> row : UsageTest.query(db, "select split_part(persistence_id, '|', 1) as entity, "
        + "count(*) as n from event_journal group by 1")) {
      counts.put("event_journal:" + row.get("entity"), ((Number) row.get("n")).longValue());
    }
    assertThat(counts).containsKeys("documents", "rag_chunks", "runs", "chat_sessions", "response_cache",
        "document_uploads", "event_journal", "durable_state", "usage_events");
    return counts;
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  /** {@code === path ===\n<text>\n} per file. */
  static int flattenedLength(Map<String, byte[]> files, String... paths) {
    int n = 0;
    for (String path : paths) {
      n += ("=== " + path + " ===\n").length() + new String(files.get(path), StandardCharsets.UTF_8).length() + 1;
    }
    return n;
  }
}
