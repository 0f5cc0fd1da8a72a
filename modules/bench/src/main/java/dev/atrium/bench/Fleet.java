package dev.atrium.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The processes a run measures, started through the launcher ({@code ./atrium mock-llm},
 * {@code ./atrium serve}) exactly as a person would start them, on 127.0.0.1 and free
 * ports. {@link #close} stops every one of them, and so does a shutdown hook on Ctrl-C or
 * failure; a node's embedded PostgreSQL is stopped with it, and killed if it outlived it.
 */
final class Fleet implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(180);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration POSTGRES_GRACE = Duration.ofSeconds(15);

  private final Path root;
  private final Path runDir;
  private final Http http;
  private final List<Launched> started = new ArrayList<>();
  // Runs only on a signal (Ctrl-C, SIGTERM): close() removes it when the run ends otherwise.
  private final Thread hook = new Thread(() -> {
    System.err.println("bench: interrupted; stopping the processes it started");
    stopAll();
  }, "bench-fleet-stop");
  private boolean stopped;

  /**
   * A started process: its pid is the JVM's, because the launcher execs java. A node's
   * {@code adminUri} is its admin port ({@code /metrics}); null for the mock.
   */
  record Launched(String name, Process process, Path log, URI baseUri, Path dataDir, URI adminUri) {
    long pid() {
      return process.pid();
    }

    /** The embedded PostgreSQL's postmaster, read from its pid file while it runs. */
    Optional<Long> postgresPid() {
      if (dataDir == null) {
        return Optional.empty();
      }
      try {
        List<String> lines = Files.readAllLines(dataDir.resolve("postmaster.pid"));
        long pid = Long.parseLong(lines.get(0).trim());
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(h -> pid);
      } catch (IOException | RuntimeException e) {
        return Optional.empty();
      }
    }

    /**
     * The embedded PostgreSQL's port, from the fourth line of its pid file (PostgreSQL's own
     * layout): the rag scenario loads vectors over JDBC without the node having to say where.
     */
    int postgresPort() {
      try {
        return Integer.parseInt(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(3).trim());
      } catch (IOException | RuntimeException e) {
        throw new IllegalStateException("no embedded PostgreSQL port in " + dataDir + "/postmaster.pid", e);
      }
    }
  }

  Fleet(Path root, Path runDir, Http http) {
    this.root = root;
    this.runDir = runDir;
    this.http = http;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  Launched mockLlm(int chunks, int chunkDelayMs, int firstTokenDelayMs) {
    return mockLlm("mock-llm", chunks, chunkDelayMs, firstTokenDelayMs);
  }

  /** A mock named {@code name} (its log is named after it, so two can run side by side). */
  Launched mockLlm(String name, int chunks, int chunkDelayMs, int firstTokenDelayMs) {
    int port = freePort();
    Launched mock = launch(name, List.of("mock-llm", "--port", Integer.toString(port),
        "--chunks", Integer.toString(chunks), "--delay-ms", Integer.toString(chunkDelayMs),
        "--first-token-delay-ms", Integer.toString(firstTokenDelayMs)),
        URI.create("http://127.0.0.1:" + port), null, null);
    awaitReady(mock, mock.baseUri().resolve("/v1/models"));
    return mock;
  }

  /** A one-node Atrium in dev mode with a fresh embedded PostgreSQL under this run's folder. */
  Launched atrium(Path tenantsDir) {
    return atrium(tenantsDir, root);
  }

  /** The same, started by another checkout's launcher (built beforehand: the bench builds only its own). */
  Launched atrium(Path tenantsDir, Path nodeRoot) {
    return atrium("atrium", tenantsDir, nodeRoot, Map.of());
  }

  /**
   * A node named {@code name} (its log and data folder are named after it, so two can run
   * side by side) of {@code nodeRoot}'s checkout, with {@code environment} added to the
   * launcher's (ATRIUM_* settings); {@code nodeRoot} null: this checkout.
   */
  Launched atrium(String name, Path tenantsDir, Path nodeRoot, Map<String, String> environment) {
    nodeRoot = nodeRoot == null ? root : nodeRoot;
    int http = freePort();
    int admin = freePort();
    Path dataDir = runDir.resolve(name.equals("atrium") ? "data" : "data-" + name);
    Launched node = launch(name, List.of("serve",
        "--http-port", Integer.toString(http),
        "--admin-port", Integer.toString(admin),
        "--management-port", Integer.toString(freePort()),
        "--remote-port", Integer.toString(freePort()),
        "--data-dir", dataDir.toString(),
        "--tenants-dir", tenantsDir.toString()),
        URI.create("http://127.0.0.1:" + http), dataDir, URI.create("http://127.0.0.1:" + admin), nodeRoot,
        environment);
    awaitReady(node, node.baseUri().resolve("/ready"));
    return node;
  }

  private synchronized Launched launch(String name, List<String> args, URI baseUri, Path dataDir, URI adminUri) {
    return launch(name, args, baseUri, dataDir, adminUri, root, Map.of());
  }

  private synchronized Launched launch(String name, List<String> args, URI baseUri, Path dataDir, URI adminUri,
      Path from, Map<String, String> environment) {
    if (stopped) {
      throw new IllegalStateException("stopping: not starting " + name);
    }
    Path log = runDir.resolve(name + ".log");
    List<String> command = new ArrayList<>();
    command.add(from.resolve("atrium").toString());
    command.addAll(args);
    try {
      Files.createDirectories(runDir);
      ProcessBuilder builder = new ProcessBuilder(command)
          .directory(from.toFile())
          .redirectErrorStream(true)
          .redirectOutput(log.toFile());
      builder.environment().putAll(environment);
      Process process = builder.start();
      Launched launched = new Launched(name, process, log, baseUri, dataDir, adminUri);
      started.add(launched);
      System.out.printf("started %s (pid %d) on %s, log %s%n", name, process.pid(), baseUri, root.relativize(log));
      return launched;
    } catch (IOException e) {
      throw new UncheckedIOException("could not start " + name, e);
    }
  }

  private void awaitReady(Launched p, URI probe) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.process().isAlive()) {
        throw new IllegalStateException(p.name() + " exited with " + p.process().exitValue() + " before it was ready; "
            + "last lines of " + p.log() + ":\n" + tail(p.log()));
      }
      if (http.status(probe) == 200) {
        return;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + p.name());
      }
    }
    throw new IllegalStateException(p.name() + " was not ready within " + READY_TIMEOUT.toSeconds() + " s; see " + p.log());
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook is running or ran
    }
  }

  /** SIGTERM (coordinated shutdown for a node) in reverse start order, then the leftovers. */
  private synchronized void stopAll() {
    if (stopped) {
      return;
    }
    stopped = true;
    for (int i = started.size() - 1; i >= 0; i--) {
      Launched p = started.get(i);
      // Read before the node stops: afterwards the pid file is gone (or stale).
      Optional<Long> postgres = p.postgresPid();
      stop(p.name(), p.process().toHandle());
      // The node stops its PostgreSQL as it shuts down; the postmaster may take a moment more to exit.
      postgres.flatMap(ProcessHandle::of).filter(pg -> !exited(pg, POSTGRES_GRACE)).ifPresent(pg -> {
        System.err.println("bench: the embedded PostgreSQL (pid " + pg.pid() + ") outlived its node; stopping it");
        stop("postgres", pg);
      });
      if (p.dataDir() != null && p.postgresPid().isEmpty()) {
        deleteTree(p.dataDir());
      }
    }
  }

  private static boolean exited(ProcessHandle handle, Duration grace) {
    try {
      handle.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return !handle.isAlive();
    }
  }

  private static void stop(String name, ProcessHandle handle) {
    if (!handle.isAlive()) {
      return;
    }
    handle.destroy();
    try {
      handle.onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("bench: " + name + " (pid " + handle.pid() + ") did not stop within "
          + STOP_TIMEOUT.toSeconds() + " s; killing it");
      handle.destroyForcibly();
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("bench: could not delete " + dir + ": " + e.getMessage());
    }
  }

  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** A port free right now; the processes bind it a moment later (a race a benchmark can live with). */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
