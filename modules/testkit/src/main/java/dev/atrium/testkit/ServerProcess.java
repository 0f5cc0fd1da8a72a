package dev.atrium.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * An Atrium node in a JVM of its own ({@code java -cp <classpath> dev.atrium.server.Main}),
 * for tests that one test JVM cannot hold: several nodes forming a cluster, a node stopped
 * by SIGTERM, or clients whose libraries must never meet the server's on one classpath.
 *
 * <p>It uses the JDK only, so a module can put this class on its test classpath without
 * any of the server's dependencies.
 */
public final class ServerProcess implements AutoCloseable {
  public static final String LOOPBACK = "127.0.0.1";

  static final String LOG_FILE = "server.log";
  private static final Duration POLL_INTERVAL = Duration.ofMillis(200);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

  private final String name;
  private final Process process;
  private final Ports ports;
  private final String adminToken;
  private final Path runDir;
  private final Path logFile;
  private final Path ownDataDir;
  private final Path embeddedDataDir;
  private final Duration startupTimeout;
  private final Thread reaper;
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  /** The ports a node listens on, all on the loopback interface. */
  public record Ports(int http, int admin, int management, int remote) {}

  ServerProcess(String name, Process process, Ports ports, String adminToken, Path runDir, Path embeddedDataDir,
      boolean ownDataDir, Duration startupTimeout) {
    this.name = name;
    this.process = process;
    this.ports = ports;
    this.adminToken = adminToken;
    this.runDir = runDir;
    this.logFile = runDir.resolve(LOG_FILE);
    this.embeddedDataDir = embeddedDataDir;
    this.ownDataDir = ownDataDir ? embeddedDataDir : null;
    this.startupTimeout = startupTimeout;
    // A test JVM that exits without closing this (a crash, a surefire timeout) must not
    // leave a server and its embedded PostgreSQL running.
    this.reaper = new Thread(this::kill, "reap-" + name);
    Runtime.getRuntime().addShutdownHook(reaper);
  }

  /** A node to start from {@code classpath} (entries separated by the platform's path separator). */
  public static ServerProcessBuilder builder(String name, String classpath) {
    return new ServerProcessBuilder(name, classpath);
  }

  /**
   * The classpath {@code ./atrium serve} uses: the server jar and the dependency list that
   * its package phase writes to {@code modules/server/target/classpath.txt}.
   */
  public static String launcherClasspath() {
    Path target = repoRoot().resolve("modules/server/target");
    Path listed = target.resolve("classpath.txt");
    Path jar;
    try (Stream<Path> files = Files.list(target)) {
      jar = files.filter(p -> p.getFileName().toString().matches("atrium-server-.*\\.jar"))
          .filter(p -> !p.getFileName().toString().matches(".*-(tests|sources|javadoc)\\.jar"))
          .findFirst().orElse(null);
    } catch (IOException e) {
      jar = null;
    }
    if (jar == null || !Files.isRegularFile(listed)) {
      throw new IllegalStateException("no packaged server under " + target
          + ": build it first (mvn package -pl modules/server -am)");
    }
    try {
      return jar + File.pathSeparator + Files.readString(listed).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The checkout: the {@code atrium.repo.root} property (Surefire sets it), else found upwards from here. */
  public static Path repoRoot() {
    String configured = System.getProperty("atrium.repo.root");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("atrium")) && Files.isDirectory(dir.resolve("modules"))) {
        return dir;
      }
    }
    throw new IllegalStateException("cannot find the repository root: set -Datrium.repo.root");
  }

  /** A port free right now on the loopback interface (the OS picks it). */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The Pekko address of a node whose remoting listens on {@code remotePort}, as a seed node is written. */
  public static String pekkoAddress(int remotePort) {
    return "pekko://atrium@" + LOOPBACK + ":" + remotePort;
  }

  /**
   * Waits until {@code GET /health} on the public port answers 200 (cluster membership Up
   * and the database reachable), failing early if the process exits.
   */
  public ServerProcess awaitHealthy() {
    long deadline = System.nanoTime() + startupTimeout.toNanos();
    HttpRequest health = HttpRequest.newBuilder(baseUrl().resolve("/health")).timeout(Duration.ofSeconds(2)).GET().build();
    int lastStatus = -1;
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException("node " + name + " exited with " + process.exitValue()
            + " before it was healthy; its log " + logFile + " ends:\n" + logTail(40));
      }
      try {
        lastStatus = http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode();
        if (lastStatus == 200) {
          return this;
        }
      } catch (IOException e) {
        // not listening yet, too busy to answer, or the connection dropped: try again
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for node " + name, e);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("node " + name + " was not healthy within " + startupTimeout.toSeconds()
            + " s (last /health status " + lastStatus + "); " + threadDump() + "; its log " + logFile + " ends:\n"
            + logTail(40));
      }
      pause();
    }
  }

  /** SIGTERM: Pekko's coordinated shutdown hands shards off and leaves the cluster. Returns the exit code. */
  public int stop() {
    process.destroy();
    try {
      if (process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        cleanUp();
        return process.exitValue();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    kill();
    throw new IllegalStateException("node " + name + " did not stop within " + STOP_TIMEOUT.toSeconds()
        + " s of SIGTERM and was killed; its log " + logFile + " ends:\n" + logTail(40));
  }

  /** SIGKILL, a crash: nothing is handed off. The node's embedded PostgreSQL, if any, is stopped after it. */
  public int kill() {
    process.destroyForcibly();
    try {
      process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    cleanUp();
    return process.isAlive() ? -1 : process.exitValue();
  }

  /** The postmaster's pid is the first line of postmaster.pid while it runs. */
  private static void stopOrphanedPostgres(Path dataDir) {
    Path pidFile = dataDir.resolve("postmaster.pid");
    try {
      if (!Files.isRegularFile(pidFile)) {
        return;
      }
      long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
      ProcessHandle.of(pid)
          .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false))
          .ifPresent(postmaster -> {
            // SIGTERM: no clients are left, so PostgreSQL stops at once.
            postmaster.destroy();
            try {
              postmaster.onExit().get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
              postmaster.destroyForcibly();
            }
          });
    } catch (IOException | RuntimeException e) {
      // best effort: the file vanished, or the process is gone
    }
  }

  /** Stops the node (SIGTERM) if it still runs, killing it if it does not stop in time. */
  @Override
  public void close() {
    if (process.isAlive()) {
      stop();
    } else {
      cleanUp();
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  public String name() {
    return name;
  }

  public int httpPort() {
    return ports.http();
  }

  public int adminPort() {
    return ports.admin();
  }

  public int managementPort() {
    return ports.management();
  }

  public int remotePort() {
    return ports.remote();
  }

  /** The public API, e.g. {@code http://127.0.0.1:41234} (no trailing slash). */
  public URI baseUrl() {
    return URI.create("http://" + LOOPBACK + ":" + ports.http());
  }

  public URI adminUrl() {
    return URI.create("http://" + LOOPBACK + ":" + ports.admin());
  }

  public URI managementUrl() {
    return URI.create("http://" + LOOPBACK + ":" + ports.management());
  }

  public String pekkoAddress() {
    return pekkoAddress(ports.remote());
  }

  /** The bearer token of the admin port ({@code /metrics}, {@code /admin}). */
  public String adminToken() {
    return adminToken;
  }

  /** The node's stdout and stderr. */
  /**
   * The node's threads now ({@code jcmd <pid> Thread.print} of this JDK), written beside its
   * log for a node that did not come up in time: where it hangs. Says where, or why not.
   */
  private String threadDump() {
    Path file = runDir.resolve("threads-at-timeout.txt");
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    try {
      Process dump = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "Thread.print")
          .redirectErrorStream(true).redirectOutput(file.toFile()).start();
      if (!dump.waitFor(30, TimeUnit.SECONDS)) {
        dump.destroyForcibly();
        return "its threads could not be dumped in 30 s";
      }
      return "its threads are in " + file;
    } catch (IOException e) {
      return "its threads could not be dumped (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "its threads were not dumped (interrupted)";
    }
  }

  public Path logFile() {
    return logFile;
  }

  /** The folder of this run: the log, and the embedded database's data when the node has one. */
  public Path runDir() {
    return runDir;
  }

  /** The last {@code lines} lines of the node's log. */
  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  /**
   * After the JVM is gone: its embedded PostgreSQL, which pg_ctl detaches from the JVM, is
   * stopped if the node could not stop it (killed, crashed); the data it was given by
   * default is deleted (large and used once); the log stays.
   */
  private void cleanUp() {
    try {
      Runtime.getRuntime().removeShutdownHook(reaper);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: this is the hook running
    }
    if (process.isAlive()) {
      return;
    }
    if (embeddedDataDir != null) {
      stopOrphanedPostgres(embeddedDataDir);
    }
    if (ownDataDir != null) {
      deleteRecursively(ownDataDir);
    }
  }


  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // best effort: it is under target/
    }
  }

  private static void pause() {
    try {
      Thread.sleep(POLL_INTERVAL.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
