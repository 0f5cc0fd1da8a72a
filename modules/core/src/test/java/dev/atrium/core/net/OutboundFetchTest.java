package dev.atrium.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fetch helper against real HTTP servers: a server on 127.0.0.1 (which the tests' request
 * policy allows, that one address only) redirects to addresses the policy refuses; a second
 * listener on [::1], loopback but not allowed, counts every connection made to it.
 */
class OutboundFetchTest {
  static HttpServer server;
  /** Another origin (same address, another port) that records the authorization header it gets. */
  static HttpServer other;
  static final Map<String, String> authorizationSeen = new ConcurrentHashMap<>();
  static ServerSocket forbidden;
  static final AtomicInteger forbiddenConnections = new AtomicInteger();
  static final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  static ExecutorService blocking;
  static OutboundFetch fetch;
  static String base;

  @BeforeAll
  static void start() throws IOException {
    forbidden = new ServerSocket(0, 50, InetAddress.getByName("::1"));
    Thread acceptor = new Thread(() -> {
      while (!forbidden.isClosed()) {
        try (Socket s = forbidden.accept()) {
          forbiddenConnections.incrementAndGet();
        } catch (IOException e) {
          // closed at the end of the tests
        }
      }
    }, "forbidden-listener");
    acceptor.setDaemon(true);
    acceptor.start();

    server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
    String forbiddenUrl = "http://[::1]:" + forbidden.getLocalPort() + "/";
    redirect("/to-loopback6", forbiddenUrl);
    redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/iam/");
    redirect("/to-metadata-decimal", "http://2852039166/latest/meta-data/");
    redirect("/to-private-hex", "http://0x0a.0.0.1/");
    redirect("/to-mapped", "http://[::ffff:7f00:2]:" + forbidden.getLocalPort() + "/");
    redirect("/two-hops", "/to-loopback6");
    redirect("/hop", "/final");
    redirect("/loop", "/loop");
    redirect("/to-file", "file:///etc/passwd");
    server.createContext("/final", exchange -> {
      count(exchange);
      byte[] body = "{\"keys\": []}".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("content-type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.createContext("/redirect-with-endless-body", exchange -> {
      count(exchange);
      exchange.getResponseHeaders().add("location", "/final");
      exchange.sendResponseHeaders(302, 0);
      try (OutputStream out = exchange.getResponseBody()) {
        byte[] chunk = new byte[16 * 1024];
        while (true) {
          out.write(chunk);
        }
      } catch (IOException e) {
        // the client closed the connection without reading: what the test wants
      }
    });
    server.createContext("/streams-a-megabyte", exchange -> {
      count(exchange);
      exchange.sendResponseHeaders(200, 0); // chunked: no length to refuse up front
      try (OutputStream out = exchange.getResponseBody()) {
        byte[] chunk = new byte[16 * 1024];
        for (int i = 0; i < 64; i++) {
          out.write(chunk);
        }
      } catch (IOException e) {
        // the client hung up at the cap: what the test wants
      }
    });
    other = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
    other.createContext("/seen", exchange -> {
      authorizationSeen.put("other", String.valueOf(exchange.getRequestHeaders().getFirst("authorization")));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    other.start();
    redirect("/to-other-origin", "http://127.0.0.1:" + other.getAddress().getPort() + "/seen");
    redirect("/to-same-origin", "/seen-here");
    server.createContext("/seen-here", exchange -> {
      authorizationSeen.put("same", String.valueOf(exchange.getRequestHeaders().getFirst("authorization")));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();

    blocking = Executors.newFixedThreadPool(2);
    var config = ConfigFactory.parseString("""
        atrium.outbound.request.allow = ["127.0.0.1/32"]
        atrium.outbound.max-redirects = 3
        """).withFallback(ConfigFactory.load()).resolve();
    fetch = OutboundFetch.fromConfig(config, blocking);
  }

  static void redirect(String path, String location) {
    server.createContext(path, exchange -> {
      count(exchange);
      exchange.getResponseHeaders().add("location", location);
      exchange.sendResponseHeaders(302, -1);
      exchange.close();
    });
  }

  static void count(HttpExchange exchange) {
    hits.computeIfAbsent(exchange.getRequestURI().getPath(), p -> new AtomicInteger()).incrementAndGet();
  }

  static int hitsOf(String path) {
    return hits.getOrDefault(path, new AtomicInteger()).get();
  }

  @AfterAll
  static void stop() throws IOException {
    server.stop(0);
    other.stop(0);
    forbidden.close();
    blocking.shutdownNow();
  }

  static OutboundFetch.Response get(String url) throws Exception {
    return fetch.fetchRequestUrl(URI.create(url), Map.of("accept", "application/json"), 64 * 1024)
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The reason the fetch of {@code url} was refused, within 10 s (a hop that connected to 169.254.169.254 would not answer). */
  static String refusal(String url, long maxBytes) {
    try {
      fetch.fetchRequestUrl(URI.create(url), Map.of(), maxBytes).toCompletableFuture().get(10, TimeUnit.SECONDS);
      return "fetched";
    } catch (ExecutionException | CompletionException e) {
      Throwable cause = e.getCause();
      while (cause instanceof CompletionException && cause.getCause() != null) {
        cause = cause.getCause();
      }
      return cause instanceof OutboundRefused refused ? refused.reason() : cause.toString();
    } catch (Exception e) {
      return e.toString();
    }
  }

  static String refusal(String url) {
    return refusal(url, 64 * 1024);
  }

  @Test
  void aRedirectToALoopbackAddressTheFirstHopWasNotAllowedIsRefusedBeforeConnecting() {
    assertThat(refusal(base + "/to-loopback6")).isEqualTo("loopback");
    assertThat(refusal(base + "/to-mapped")).as("127.0.0.2 as IPv4-mapped IPv6: not the one address allowed")
        .isEqualTo("loopback");
    assertThat(refusal(base + "/two-hops")).isEqualTo("loopback");
    assertThat(hitsOf("/to-loopback6")).isEqualTo(2);
    assertThat(hitsOf("/two-hops")).isEqualTo(1);
    assertThat(forbiddenConnections).as("connections to the refused second hop").hasValue(0);
  }

  @Test
  void aRedirectToTheMetadataServiceOrAPrivateAddressIsRefusedInEverySpelling() {
    assertThat(refusal(base + "/to-metadata")).isEqualTo("metadata");
    assertThat(refusal(base + "/to-metadata-decimal")).isEqualTo("metadata");
    assertThat(refusal(base + "/to-private-hex")).isEqualTo("private");
    assertThat(refusal(base + "/to-file")).isEqualTo("scheme");
    assertThat(hitsOf("/to-metadata")).isEqualTo(1);
  }

  @Test
  void theCallersHeadersFollowARedirectOnlyWithinItsOrigin() throws Exception {
    Map<String, String> headers = Map.of("authorization", "Bearer not-for-others");
    assertThat(fetch.fetchRequestUrl(URI.create(base + "/to-same-origin"), headers, 1024)
        .toCompletableFuture().get(10, TimeUnit.SECONDS).status()).isEqualTo(204);
    assertThat(fetch.fetchRequestUrl(URI.create(base + "/to-other-origin"), headers, 1024)
        .toCompletableFuture().get(10, TimeUnit.SECONDS).status()).isEqualTo(204);
    assertThat(authorizationSeen).containsEntry("same", "Bearer not-for-others").containsEntry("other", "null");
  }

  @Test
  void theFirstHopIsCheckedToo() {
    int before = forbiddenConnections.get();
    assertThat(refusal("http://[::1]:" + forbidden.getLocalPort() + "/")).isEqualTo("loopback");
    assertThat(refusal("http://localhost:" + server.getAddress().getPort() + "/final"))
        .as("127.0.0.1 is allowed by address, not the name localhost, which is loopback by definition")
        .isEqualTo("loopback");
    assertThat(forbiddenConnections.get()).isEqualTo(before);
  }

  @Test
  void followsAllowedRedirectsAndReturnsTheFinalResponse() throws Exception {
    OutboundFetch.Response response = get(base + "/hop");
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.url()).hasToString(base + "/final");
    assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo("{\"keys\": []}");
    assertThat(response.headers().firstValue("content-type")).contains("application/json");
  }

  @Test
  void aRedirectsBodyIsNeverRead() throws Exception {
    OutboundFetch.Response response = get(base + "/redirect-with-endless-body");
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.url()).hasToString(base + "/final");
  }

  @Test
  void followsAtMostTheConfiguredNumberOfRedirects() {
    int before = hitsOf("/loop");
    assertThat(refusal(base + "/loop")).isEqualTo("too_many_redirects");
    assertThat(hitsOf("/loop") - before).as("the first request and three redirects").isEqualTo(4);
  }

  @Test
  void stopsReadingAtTheSizeCap() {
    assertThat(refusal(base + "/streams-a-megabyte", 100_000)).isEqualTo("response_too_large");
    assertThat(refusal(base + "/final", 5)).as("a declared length past the cap").isEqualTo("response_too_large");
  }

  @Test
  void theOperatorPolicyFetchesALocalServerAsConfigured() throws Exception {
    var response = fetch.fetchOperatorUrl(URI.create("http://localhost:" + server.getAddress().getPort() + "/final"),
        Map.of(), 1024).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(response.status()).isEqualTo(200);
    OutboundFetch strict = new OutboundFetch(OutboundUrls.defaults(),
        new OutboundFetch.Settings(3, Duration.ofSeconds(2), Duration.ofSeconds(5)), blocking);
    int before = hitsOf("/final");
    assertThat(strict.fetchRequestUrl(URI.create(base + "/final"), Map.of(), 1024).toCompletableFuture())
        .failsWithin(Duration.ofSeconds(10))
        .withThrowableOfType(ExecutionException.class)
        .havingCause().isInstanceOf(OutboundRefused.class);
    assertThat(hitsOf("/final")).as("the default request policy never connects to 127.0.0.1").isEqualTo(before);
  }
}
