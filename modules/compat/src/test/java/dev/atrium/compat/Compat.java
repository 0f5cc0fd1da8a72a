package dev.atrium.compat;

import dev.atrium.testkit.ServerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** What every client check relies on: the shipped demo tenant and its built-in local model. */
final class Compat {
  static final String API_KEY = "demo-key";
  static final String MODEL = "local";
  /** The local responder's honest answer when no real model is configured. */
  static final String NO_MODEL = "no language model is configured";

  private static final Duration WARM_UP_AT_MOST = Duration.ofSeconds(30);

  private Compat() {}

  /**
   * Waits until the node serves the demo key: a chat completion whole and streamed, and the
   * session routes. A node that has just become healthy starts a caller's rate-limit buckets
   * and stream slots on first use; on a busy machine that can take longer than the limiter's
   * ask timeout (atrium.limits.ask-timeout, 1 s), and Atrium answers 503 limiter_unavailable
   * with Retry-After: 1, which clients are meant to retry. The checks run the SDKs without
   * retries, so they test the clients, not that cold start.
   */
  static void awaitServing(ServerProcess node) {
    awaitServing(node, API_KEY, MODEL);
  }

  /** The same for another tenant's key and model. */
  static void awaitServing(ServerProcess node, String apiKey, String model) {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    String completion = "{\"model\": \"" + model + "\", \"messages\": [{\"role\": \"user\", \"content\": \"warm up\"}]";
    awaitOk(http, request(node, "/v1/chat/completions", apiKey).POST(HttpRequest.BodyPublishers.ofString(completion + "}")));
    awaitOk(http, request(node, "/v1/chat/completions", apiKey)
        .POST(HttpRequest.BodyPublishers.ofString(completion + ", \"stream\": true}")));
    awaitOk(http, request(node, "/v1/chat/sessions", apiKey).GET());
  }

  private static HttpRequest.Builder request(ServerProcess node, String path, String apiKey) {
    return HttpRequest.newBuilder(node.baseUrl().resolve(path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + apiKey)
        .header("Content-Type", "application/json");
  }

  private static void awaitOk(HttpClient http, HttpRequest.Builder request) {
    long deadline = System.nanoTime() + WARM_UP_AT_MOST.toNanos();
    HttpRequest built = request.build();
    while (true) {
      HttpResponse<String> response;
      try {
        response = http.send(built, HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      if (response.statusCode() == 200) {
        return;
      }
      if (response.statusCode() != 503 || System.nanoTime() > deadline) {
        throw new IllegalStateException(built.method() + " " + built.uri().getPath() + " answered "
            + response.statusCode() + " while warming up: " + response.body());
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
