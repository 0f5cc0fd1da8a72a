package dev.atrium.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A plain HTTP client for tests that speak to a real server on a free port. It may set
 * the Host header (for host-based tenant resolution), which the JDK client otherwise
 * refuses.
 */
public final class TestHttp {
  static {
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host,content-length");
  }

  private final HttpClient client = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5))
      .version(HttpClient.Version.HTTP_1_1)
      .build();
  private final String base;

  public TestHttp(String host, int port) {
    this.base = "http://" + host + ":" + port;
  }

  public TestHttp(java.net.InetSocketAddress address) {
    this(address.getHostString(), address.getPort());
  }

  public HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
  }

  public HttpResponse<String> send(HttpRequest.Builder request) {
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public HttpResponse<String> get(String path, String... headers) {
    HttpRequest.Builder r = request(path).GET();
    if (headers.length > 0) {
      r.headers(headers);
    }
    return send(r);
  }

  public HttpResponse<String> postJson(String path, String json, String... headers) {
    HttpRequest.Builder r = request(path).POST(HttpRequest.BodyPublishers.ofString(json))
        .header("Content-Type", "application/json");
    if (headers.length > 0) {
      r.headers(headers);
    }
    return send(r);
  }

  public HttpClient client() {
    return client;
  }

  public static JsonNode json(HttpResponse<String> response) {
    try {
      return Json.MAPPER.readTree(response.body());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + response.body(), e);
    }
  }
}
