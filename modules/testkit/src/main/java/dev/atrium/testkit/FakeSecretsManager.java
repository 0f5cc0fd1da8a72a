package dev.atrium.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.atrium.core.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * AWS Secrets Manager's {@code GetSecretValue} over its JSON 1.1 protocol, on 127.0.0.1 and
 * a free port, for tests: {@code POST /} with {@code X-Amz-Target:
 * secretsmanager.GetSecretValue} and {@code {"SecretId": ...}} answers the secret's current
 * string with a new {@code VersionId} per value, or 400 {@code ResourceNotFoundException}
 * for an unknown id. A test puts and rotates values with {@link #put}; {@link #lookups()}
 * counts the calls, so a test can see the cache at work. Signatures are not checked (the
 * SDK signs with whatever static credentials the test gives it).
 */
public final class FakeSecretsManager implements AutoCloseable {
  private static final String TARGET = "secretsmanager.GetSecretValue";

  private record Version(String value, String id) {}

  private final Map<String, Version> secrets = new ConcurrentHashMap<>();
  private final AtomicInteger lookups = new AtomicInteger();
  private final HttpServer server;

  private FakeSecretsManager(HttpServer server) {
    this.server = server;
  }

  /** Started on 127.0.0.1 and a free port. */
  public static FakeSecretsManager start() {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      FakeSecretsManager fake = new FakeSecretsManager(server);
      server.createContext("/", fake::handle);
      server.start();
      return fake;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The endpoint to configure ({@code atrium.secrets.aws.endpoint}). */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Sets (or rotates) the secret's string; the next GetSecretValue answers it. */
  public FakeSecretsManager put(String name, String secretString) {
    secrets.put(name, new Version(secretString, UUID.randomUUID().toString()));
    return this;
  }

  /** Removes the secret: GetSecretValue answers ResourceNotFoundException. */
  public void remove(String name) {
    secrets.remove(name);
  }

  /** GetSecretValue calls answered so far (found or not). */
  public int lookups() {
    return lookups.get();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
      if (!"POST".equals(exchange.getRequestMethod()) || !TARGET.equals(target)) {
        respond(exchange, 400, error("UnknownOperationException", "only GetSecretValue is faked"));
        return;
      }
      JsonNode body;
      try (InputStream in = exchange.getRequestBody()) {
        body = Json.MAPPER.readTree(in);
      }
      lookups.incrementAndGet();
      String id = body == null || !body.hasNonNull("SecretId") ? null : body.get("SecretId").asText();
      Version version = id == null ? null : secrets.get(id);
      if (version == null) {
        respond(exchange, 400, error("ResourceNotFoundException", "Secrets Manager can't find the specified secret."));
        return;
      }
      ObjectNode answer = Json.MAPPER.createObjectNode();
      answer.put("ARN", "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + id);
      answer.put("Name", id);
      answer.put("SecretString", version.value());
      answer.put("VersionId", version.id());
      answer.putArray("VersionStages").add("AWSCURRENT");
      answer.put("CreatedDate", System.currentTimeMillis() / 1000.0);
      respond(exchange, 200, answer);
    }
  }

  private static ObjectNode error(String type, String message) {
    ObjectNode error = Json.MAPPER.createObjectNode();
    error.put("__type", type);
    error.put("message", message);
    return error;
  }

  private static void respond(HttpExchange exchange, int status, ObjectNode body) throws IOException {
    byte[] bytes = Json.MAPPER.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.1");
    if (status != 200) {
      exchange.getResponseHeaders().set("x-amzn-ErrorType", body.get("__type").asText());
    }
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
