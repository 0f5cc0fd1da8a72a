package dev.atrium.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

/**
 * JSON calls to a node with one tenant's key, for the scenarios that set things up over
 * the API before they measure (upload documents, follow their ingest runs): an answer
 * other than the expected status stops the run with the route and the body.
 */
final class NodeApi {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long POLL_PAUSE_MS = 200;

  private final Http http;
  private final URI base;
  private final String key;

  NodeApi(Http http, URI base, String key) {
    this.http = http;
    this.base = base;
    this.key = key;
  }

  URI uri(String path) {
    return base.resolve(path);
  }

  JsonNode get(String path) {
    return send(Http.get(base.resolve(path), key).build(), 200);
  }

  JsonNode post(String path, byte[] body, int status) {
    return send(Http.post(base.resolve(path), key, body).build(), status);
  }

  JsonNode send(HttpRequest request, int status) {
    try {
      Http.Answer a = http.exchange(request, new AtomicReference<>());
      if (a.status() != status) {
        throw new IllegalStateException(request.method() + " " + request.uri().getPath() + ": HTTP " + a.status() + ": "
            + Http.abbreviate(a.body()));
      }
      return JSON.readTree(a.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }

  /** Polls {@code GET /v1/runs/{id}} until the run succeeds; any other end, or the timeout, stops the bench. */
  JsonNode awaitRun(String id, long timeoutMs) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (System.currentTimeMillis() < deadline) {
      JsonNode run = get("/v1/runs/" + id);
      String status = run.path("status").asText();
      if (status.equals("succeeded")) {
        return run;
      }
      if (status.equals("failed") || status.equals("cancelled")) {
        throw new IllegalStateException("run " + id + " ended " + status + ": " + run.path("error"));
      }
      pause();
    }
    throw new IllegalStateException("run " + id + " did not end within " + timeoutMs / 1000 + " s");
  }

  static byte[] bytes(JsonNode json) {
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  static void pause() {
    try {
      Thread.sleep(POLL_PAUSE_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }
}
