package dev.atrium.server;

import static dev.atrium.testkit.TestArchives.zip;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Oversized bodies on a real node, spoken over a raw socket so that {@code Expect: 100-continue}
 * is honest: a body declared over the limit is answered 413 without {@code 100 Continue} and
 * without sending a byte of it; a chunked body is cut off at the limit while it streams, long
 * before the client has written it all; bodies under the limit still work, with and without
 * {@code Expect}. Both the tenant's general limit and the document upload's archive limit.
 */
class UploadLimitTest {
  static final String KEY = "upload-" + java.util.UUID.randomUUID();
  static final long REQUEST_LIMIT = 65_536;
  static final long ARCHIVE_LIMIT = 1_000_000;
  static final long TWENTY_MB = 20L * 1024 * 1024;
  /** What the socket buffers and the server's drain may take beyond the limit until the 413 is seen. */
  static final long BUFFERS = 32L * 1024 * 1024;
  /** The chunked body the client is prepared to send: far more than limit and buffers. */
  static final long ENDLESS = 512L * 1024 * 1024;

  @TempDir static Path tenantsDir;
  static DatabaseSettings db;
  static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(tenantsDir.resolve("uplim.json"), """
        {"id": "uplim", "display_name": "Upload limits", "api_keys": [{"id": "k_u", "sha256": "%s", "tier": "PAID"}],
         "limits": {"max_request_bytes": %d},
         "documents": {"max_archive_bytes": %d, "max_document_bytes": 100000},
         "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
        """.formatted(ApiKeys.sha256(KEY), REQUEST_LIMIT, ARCHIVE_LIMIT));
    db = TestDatabase.fresh("uploadlimit");
    node = TestNode.start("uploadlimit", db, TenantRegistry.load(tenantsDir, false), Map.of());
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  // ---- declared by Content-Length ---------------------------------------------------------

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aDeclaredBodyOverTheRequestLimitIs413BeforeItIsSent(boolean expect) throws Exception {
    try (Raw raw = new Raw()) {
      raw.head("POST", "/v1/search", "application/json", TWENTY_MB, expect);
      Response r = raw.read();
      assertThat(r.status).as("no 100 Continue, the final answer").isEqualTo(413);
      assertProblem(r, REQUEST_LIMIT);
      assertThat(r.json().path("detail").asText()).contains("max_request_bytes");
      assertThat(raw.written.get()).isZero();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void openAiRoutesAnswerInOpenAisShape(boolean expect) throws Exception {
    try (Raw raw = new Raw()) {
      raw.head("POST", "/v1/chat/completions", "application/json", TWENTY_MB, expect);
      Response r = raw.read();
      assertThat(r.status).isEqualTo(413);
      assertThat(r.header("content-type")).startsWith("application/json");
      assertThat(r.json().path("error").path("code").asText()).isEqualTo("payload_too_large");
      assertThat(r.json().path("error").path("message").asText()).contains(Long.toString(REQUEST_LIMIT));
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aDeclaredArchiveOverMaxArchiveBytesIs413BeforeItIsSent(boolean expect) throws Exception {
    try (Raw raw = new Raw()) {
      raw.head("POST", "/v1/documents?source=repo", "application/zip", TWENTY_MB, expect);
      Response r = raw.read();
      assertThat(r.status).isEqualTo(413);
      assertProblem(r, ARCHIVE_LIMIT);
      assertThat(r.json().path("detail").asText()).contains("max_archive_bytes");
      assertThat(raw.written.get()).isZero();
    }
  }

  // ---- found while streaming ---------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aChunkedBodyIsCutOffAtTheRequestLimit(boolean expect) throws Exception {
    streamsPastTheLimit("/v1/search", "application/json", expect, REQUEST_LIMIT);
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aChunkedArchiveIsCutOffAtMaxArchiveBytes(boolean expect) throws Exception {
    streamsPastTheLimit("/v1/documents?source=repo", "application/zip", expect, ARCHIVE_LIMIT);
  }

  /** Writes an endless chunked body; the 413 must come while the client is still writing. */
  private static void streamsPastTheLimit(String path, String type, boolean expect, long limit) throws Exception {
    try (Raw raw = new Raw()) {
      raw.head("POST", path, type, -1, expect);
      if (expect) {
        Response interim = raw.read();
        // The route reads a body it cannot size in advance: the server asks for it.
        assertThat(interim.status).isEqualTo(100);
      }
      CompletableFuture<Void> writer = raw.writeChunksUntilStopped();
      Response r = raw.read();
      long writtenAtAnswer = raw.written.get();
      raw.stop.set(true);
      writer.exceptionally(e -> null).join();
      assertThat(r.status).isEqualTo(413);
      assertProblem(r, limit);
      assertThat(writtenAtAnswer).as("answered after the limit plus buffers, not after the whole body")
          .isGreaterThan(limit).isLessThan(limit + BUFFERS);
    }
  }

  // ---- under the limit ---------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aBodyUnderTheLimitIsRead(boolean expect) throws Exception {
    byte[] body = ("{\"source\": \"notes/limits-" + expect + ".md\", \"content\": \"Bodies under the limit are read.\","
        + " \"content_type\": \"text/markdown\"}").getBytes(StandardCharsets.UTF_8);
    assertThat(upload("/v1/documents", "application/json", body, expect).status).isEqualTo(202);
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void anArchiveUnderTheLimitIsReadEvenAboveTheRequestLimit(boolean expect) throws Exception {
    // Larger than max_request_bytes, within max_archive_bytes: the route's own limit applies.
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (int i = 0; i < 8; i++) {
      files.put("docs/part" + i + ".md", ("# Part " + i + "\n" + "word ".repeat(6_000) + i).getBytes(StandardCharsets.UTF_8));
    }
    byte[] archive = incompressible(zip(files));
    assertThat((long) archive.length).isGreaterThan(REQUEST_LIMIT).isLessThan(ARCHIVE_LIMIT);
    Response r = upload("/v1/documents?source=repo-" + expect, "application/zip", archive, expect);
    assertThat(r.status).as(r.body).isEqualTo(202);
  }

  @Test
  void aJsonDocumentAboveTheRequestLimitIsReadUnderTheRoutesOwnLimit() throws Exception {
    // A JSON upload over max_request_bytes but under the document limit is read (as before).
    String content = "x".repeat((int) REQUEST_LIMIT + 10);
    byte[] body = ("{\"source\": \"notes/big.txt\", \"content\": \"" + content + "\"}").getBytes(StandardCharsets.UTF_8);
    assertThat(upload("/v1/documents", "application/json", body, false).status).isEqualTo(202);
  }

  private static Response upload(String path, String type, byte[] body, boolean expect) throws Exception {
    try (Raw raw = new Raw()) {
      raw.head("POST", path, type, body.length, expect);
      if (expect) {
        assertThat(raw.read().status).as("the server invites the body").isEqualTo(100);
      }
      raw.out.write(body);
      raw.out.flush();
      return raw.read();
    }
  }

  /** Random (incompressible) entries, so the archive on the wire is as large as we want. */
  private static byte[] incompressible(byte[] zip) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("docs/readme.md", "# Readme\nThe archive carries binary blobs.".getBytes(StandardCharsets.UTF_8));
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 3; i++) {
      byte[] noise = new byte[90_000];
      random.nextBytes(noise);
      files.put("assets/blob" + i + ".bin", noise);
    }
    return zip.length > REQUEST_LIMIT ? zip : zip(files);
  }

  private static void assertProblem(Response r, long limit) throws IOException {
    assertThat(r.header("content-type")).startsWith("application/problem+json");
    assertThat(r.json().path("code").asText()).isEqualTo("payload_too_large");
    assertThat(r.json().path("limit_bytes").asLong()).isEqualTo(limit);
    assertThat(r.header("connection")).isEqualToIgnoringCase("close");
  }

  // ---- a raw HTTP/1.1 client ---------------------------------------------------------------

  record Response(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.getOrDefault(name.toLowerCase(Locale.ROOT), "");
    }

    JsonNode json() throws IOException {
      return Json.MAPPER.readTree(body);
    }
  }

  static final class Raw implements AutoCloseable {
    final Socket socket = new Socket();
    final OutputStream out;
    final InputStream in;
    final AtomicLong written = new AtomicLong();
    final AtomicBoolean stop = new AtomicBoolean();
    private final String key;

    Raw() throws IOException {
      this(node.publicAddress(), KEY);
    }

    /** A connection to {@code address} whose requests carry {@code key} (other tests' nodes). */
    Raw(InetSocketAddress address, String key) throws IOException {
      this.key = key;
      socket.connect(address, 5_000);
      socket.setSoTimeout(30_000);
      out = socket.getOutputStream();
      in = socket.getInputStream();
    }

    /** The request line and headers; {@code length < 0} means chunked. */
    void head(String method, String path, String type, long length, boolean expect) throws IOException {
      StringBuilder head = new StringBuilder()
          .append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
          .append("Host: 127.0.0.1\r\n")
          .append("Authorization: Bearer ").append(key).append("\r\n")
          .append("Content-Type: ").append(type).append("\r\n")
          .append(length < 0 ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + length + "\r\n");
      if (expect) {
        head.append("Expect: 100-continue\r\n");
      }
      out.write(head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }

    /**
     * Chunks of 16 KiB on another thread until told to stop, the server answers (as curl and
     * browsers do, it looks for a response between writes) or the server closes.
     */
    CompletableFuture<Void> writeChunksUntilStopped() {
      return CompletableFuture.runAsync(() -> {
        byte[] data = new byte[16 * 1024];
        java.util.Arrays.fill(data, (byte) 'a');
        byte[] size = (Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] crlf = "\r\n".getBytes(StandardCharsets.US_ASCII);
        try {
          while (!stop.get() && in.available() == 0 && written.get() < ENDLESS) {
            out.write(size);
            out.write(data);
            out.write(crlf);
            written.addAndGet(data.length);
          }
        } catch (IOException e) {
          // The server closed its side: the write ends here.
        }
      });
    }

    /** One response: status line, headers, then a Content-Length body (or up to EOF). */
    Response read() throws IOException {
      String status = line();
      assertThat(status).startsWith("HTTP/1.1 ");
      int code = Integer.parseInt(status.substring(9, 12));
      Map<String, String> headers = new LinkedHashMap<>();
      for (String line = line(); !line.isEmpty(); line = line()) {
        int colon = line.indexOf(':');
        headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
      }
      if (code == 100) {
        return new Response(code, headers, "");
      }
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      String length = headers.get("content-length");
      if (length != null) {
        body.write(in.readNBytes(Integer.parseInt(length)));
      } else {
        in.transferTo(body);
      }
      return new Response(code, headers, body.toString(StandardCharsets.UTF_8));
    }

    private String line() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      for (int b = in.read(); b != '\n'; b = in.read()) {
        if (b < 0) {
          throw new IOException("connection closed mid-response after " + line.size() + " bytes: " + line);
        }
        if (b != '\r') {
          line.write(b);
        }
      }
      return line.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
      stop.set(true);
      socket.close();
    }
  }
}
