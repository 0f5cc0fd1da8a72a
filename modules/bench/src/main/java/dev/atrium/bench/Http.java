package dev.atrium.bench;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The bench's one HTTP client (the JDK's, HTTP/1.1 with keep-alive, one pooled connection
 * per concurrent worker) and the few exchanges it times.
 */
final class Http {
  /** Until the response headers; a stream stuck after them is cut off by Load's drain. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
  private static final String CONTENT = "\"content\":\"";

  final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  /** A request or answer the bench does not accept: wrong status, broken stream, missing content. */
  static final class BadAnswer extends IOException {
    BadAnswer(String message) {
      super(message);
    }
  }

  /** A status and body, whatever the status: for routes where 429 is as much an answer as 200. */
  record Answer(int status, String body, Load.Timing timing) {}

  static HttpRequest.Builder get(URI uri, String apiKey) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET();
    return apiKey == null ? b : b.header("Authorization", "Bearer " + apiKey);
  }

  static HttpRequest.Builder post(URI uri, String apiKey, byte[] json) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri)
        .timeout(REQUEST_TIMEOUT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(json));
    return apiKey == null ? b : b.header("Authorization", "Bearer " + apiKey);
  }

  /** The response headers of a request (its body discarded). */
  java.net.http.HttpHeaders headers(HttpRequest request) throws IOException, InterruptedException {
    return client.send(request, HttpResponse.BodyHandlers.discarding()).headers();
  }

  /** The status of a GET, or -1 when nothing answers yet. */
  int status(URI uri) {
    try {
      HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build();
      return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /**
   * A whole JSON answer with the expected status. Timing: first = the response headers
   * (for a non-streaming answer, when the server had it ready), total = the last byte.
   * {@code bodyOut}, when given, receives the body.
   */
  Load.Timing whole(HttpRequest request, int expectedStatus, String mustContain, AtomicReference<Closeable> inFlight,
      StringBuilder bodyOut) throws IOException, InterruptedException {
    Answer answer = exchange(request, inFlight);
    if (answer.status() != expectedStatus) {
      throw new BadAnswer("HTTP " + answer.status() + ": " + abbreviate(answer.body()));
    }
    if (!answer.body().contains(mustContain)) {
      throw new BadAnswer("answer without " + mustContain + ": " + abbreviate(answer.body()));
    }
    if (bodyOut != null) {
      bodyOut.append(answer.body());
    }
    return answer.timing();
  }

  /** One request read to its end (so the connection goes back to the pool), timed as {@link #whole}. */
  Answer exchange(HttpRequest request, AtomicReference<Closeable> inFlight) throws IOException, InterruptedException {
    long start = System.nanoTime();
    HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    long first = System.nanoTime();
    String body;
    try (InputStream in = response.body()) {
      inFlight.set(in);
      body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    return new Answer(response.statusCode(), body, new Load.Timing(first - start, System.nanoTime() - start));
  }

  /**
   * An OpenAI-style SSE stream read to its end. Timing: first = the first chunk whose
   * delta has non-empty content (the role chunk and Atrium's empty pass-through do not
   * count), total = the end of the stream after {@code data: [DONE]}.
   */
  Load.Timing sse(HttpRequest request, AtomicReference<Closeable> inFlight) throws IOException, InterruptedException {
    return stream(request, inFlight, Framing.OPENAI);
  }

  /**
   * An Anthropic Messages SSE stream read to its end. Timing: first = the first
   * {@code text_delta} with text, total = the end of the stream after {@code message_stop}.
   */
  Load.Timing anthropicSse(HttpRequest request, AtomicReference<Closeable> inFlight)
      throws IOException, InterruptedException {
    return stream(request, inFlight, Framing.ANTHROPIC);
  }

  /** How a protocol's stream says it carries text, failed, or ended: read from its {@code data:} lines. */
  private enum Framing {
    OPENAI {
      @Override
      boolean done(String data) {
        return data.endsWith("[DONE]");
      }

      @Override
      boolean error(String data) {
        return data.contains("\"error\"");
      }

      @Override
      boolean content(String data) {
        return hasContent(data);
      }
    },
    ANTHROPIC {
      @Override
      boolean done(String data) {
        return data.contains("\"type\":\"message_stop\"");
      }

      @Override
      boolean error(String data) {
        return data.contains("\"type\":\"error\"");
      }

      @Override
      boolean content(String data) {
        int at = data.indexOf(TEXT_DELTA);
        return at >= 0 && data.indexOf(TEXT, at) >= 0 && !data.contains(TEXT + "\"");
      }
    };

    abstract boolean done(String data);

    abstract boolean error(String data);

    abstract boolean content(String data);
  }

  private static final String TEXT_DELTA = "\"type\":\"text_delta\"";
  private static final String TEXT = "\"text\":\"";

  private Load.Timing stream(HttpRequest request, AtomicReference<Closeable> inFlight, Framing framing)
      throws IOException, InterruptedException {
    long start = System.nanoTime();
    HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = response.body();
         BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      inFlight.set(in);
      if (response.statusCode() != 200) {
        throw new BadAnswer("HTTP " + response.statusCode() + ": " + abbreviate(new String(in.readAllBytes(),
            StandardCharsets.UTF_8)));
      }
      long first = -1;
      boolean done = false;
      String line;
      // Read to the end, not just to the last event: only a fully read body returns the connection to the pool.
      while ((line = lines.readLine()) != null) {
        if (!line.startsWith("data:")) {
          continue;
        }
        if (framing.done(line)) {
          done = true;
        } else if (framing.error(line)) {
          throw new BadAnswer("error chunk: " + abbreviate(line));
        } else if (first < 0 && framing.content(line)) {
          first = System.nanoTime();
        }
      }
      if (!done || first < 0) {
        throw new BadAnswer(done ? "stream without content" : "stream ended without its last event");
      }
      return new Load.Timing(first - start, System.nanoTime() - start);
    }
  }

  /** A chunk whose delta carries text: OpenAI's role chunk and Atrium's empty pass-through of it do not. */
  static boolean hasContent(String line) {
    int at = line.indexOf(CONTENT);
    return at >= 0 && at + CONTENT.length() < line.length() && line.charAt(at + CONTENT.length()) != '"';
  }

  static String abbreviate(String s) {
    String one = s.replace('\n', ' ');
    return one.length() > 300 ? one.substring(0, 300) + "..." : one;
  }
}
