package dev.atrium.compat;

import dev.atrium.testkit.ServerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A node whose tenant routes model {@value #MODEL} to the mock OpenAI-compatible upstream
 * (the testkit's MockLlm, in a JVM of its own like the node: its libraries stay off this
 * classpath), for clients that need a model with tool calls: the mock calls the first tool
 * when a request requires one. The tenant's key is {@link #API_KEY}.
 */
final class MockBackedNode implements AutoCloseable {
  static final String MODEL = "mock";
  static final String API_KEY = "compat-mock-key-" + java.util.UUID.randomUUID();
  private static final Duration READY_AT_MOST = Duration.ofSeconds(60);

  private final Process mock;
  private final ServerProcess node;

  private MockBackedNode(Process mock, ServerProcess node) {
    this.mock = mock;
    this.node = node;
  }

  /** Starts the mock, then the node with a tenant folder of its own; warms both up. */
  static MockBackedNode start(String name, Path workDir) {
    int port = ServerProcess.freePort();
    Process mock = launchMock(port, workDir.resolve("mock-llm.log"));
    try {
      awaitMock(port);
      Path tenants = Files.createDirectories(workDir.resolve("tenants"));
      Files.writeString(tenants.resolve("compat.json"), """
          {"id": "compat", "display_name": "Compat",
           "api_keys": [{"id": "k_compat", "sha256": "%s", "tier": "PAID"}],
           "models": {"default_model": "mock",
                      "models": {"mock": {"provider": "up", "upstream_model": "mock-model"},
                                 "local": {"provider": "local"}},
                      "providers": {"up": {"type": "openai", "base_url": "http://127.0.0.1:%d/v1",
                                           "timeout_ms": 10000, "max_retries": 0},
                                    "local": {"type": "local"}}},
           "rate_limits": {"default": {"paid": {"capacity": 100000, "refill_per_second": 100000}}}}
          """.formatted(sha256(API_KEY), port));
      ServerProcess node = ServerProcess.builder(name, ServerProcess.launcherClasspath()).tenantsDir(tenants).start();
      try {
        Compat.awaitServing(node, API_KEY, MODEL);
      } catch (RuntimeException e) {
        node.close();
        throw e;
      }
      return new MockBackedNode(mock, node);
    } catch (IOException e) {
      mock.destroyForcibly();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      mock.destroyForcibly();
      throw e;
    }
  }

  URI baseUrl() {
    return node.baseUrl();
  }

  @Override
  public void close() {
    node.close();
    mock.destroy();
    try {
      if (!mock.waitFor(10, TimeUnit.SECONDS)) {
        mock.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      mock.destroyForcibly();
    }
  }

  /** {@code ./atrium mock-llm}'s command: the testkit jar and the classpath its package phase saved. */
  private static Process launchMock(int port, Path log) {
    Path target = ServerProcess.repoRoot().resolve("modules/testkit/target");
    try (Stream<Path> files = Files.list(target)) {
      Path jar = files.filter(p -> p.getFileName().toString().matches("atrium-testkit-.*\\.jar"))
          .filter(p -> !p.getFileName().toString().matches(".*-(tests|sources|javadoc)\\.jar"))
          .findFirst().orElseThrow(() -> new IllegalStateException("no testkit jar under " + target));
      String classpath = jar + java.io.File.pathSeparator
          + Files.readString(target.resolve("classpath.txt"), StandardCharsets.UTF_8).strip();
      return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
          "-cp", classpath, "dev.atrium.testkit.MockLlm", "--host", ServerProcess.LOOPBACK,
          "--port", Integer.toString(port))
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the mock upstream (build modules/testkit first)", e);
    }
  }

  /** Until the mock answers {@code GET /v1/models}. */
  private static void awaitMock(int port) {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest models = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
        .timeout(Duration.ofSeconds(5)).build();
    long deadline = System.nanoTime() + READY_AT_MOST.toNanos();
    while (true) {
      try {
        if (http.send(models, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the mock upstream did not start within " + READY_AT_MOST.toSeconds() + " s");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private static String sha256(String key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
