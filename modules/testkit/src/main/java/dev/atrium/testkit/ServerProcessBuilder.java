package dev.atrium.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * How to start a {@link ServerProcess}: ports (free ones unless given), database, tenants,
 * cluster join, extra system properties. Each started node gets a run folder of its own
 * under {@code target/atrium-nodes} with its log ({@code server.log}) and, when it runs the
 * embedded PostgreSQL, its data.
 */
public final class ServerProcessBuilder {
  private static final DateTimeFormatter RUN_STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS");

  private final String name;
  private final String classpath;
  private int httpPort;
  private int adminPort;
  private int managementPort;
  private int remotePort;
  private String adminToken = "admin-" + UUID.randomUUID();
  private Path dataDir;
  private Path tenantsDir;
  private Path runsDir = Path.of("target", "atrium-nodes");
  private final Map<String, String> env = new LinkedHashMap<>();
  private final Map<String, String> systemProperties = new LinkedHashMap<>();
  private List<String> jvmOptions = List.of(
      // Several JVMs share two cores in tests: small heaps, and no C2 compiler to warm up.
      "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
  private Duration startupTimeout = Duration.ofSeconds(60);

  ServerProcessBuilder(String name, String classpath) {
    if (!name.matches("[A-Za-z0-9_.-]+")) {
      throw new IllegalArgumentException("a node name is letters, digits, '.', '_' and '-': " + name);
    }
    this.name = name;
    this.classpath = classpath;
  }

  /** Port 0 (the default) picks a free port. */
  public ServerProcessBuilder httpPort(int port) {
    this.httpPort = port;
    return this;
  }

  public ServerProcessBuilder adminPort(int port) {
    this.adminPort = port;
    return this;
  }

  public ServerProcessBuilder managementPort(int port) {
    this.managementPort = port;
    return this;
  }

  public ServerProcessBuilder remotePort(int port) {
    this.remotePort = port;
    return this;
  }

  /** An external database: ATRIUM_DATABASE_URL, _USER (the owner, runs migrations) and _PASSWORD. */
  public ServerProcessBuilder database(String url, String ownerUser, String ownerPassword) {
    env.put("ATRIUM_DATABASE_URL", url);
    env.put("ATRIUM_DATABASE_USER", ownerUser);
    env.put("ATRIUM_DATABASE_PASSWORD", ownerPassword);
    return this;
  }

  /** The embedded PostgreSQL's data directory; by default a fresh one in the run folder, deleted after. */
  public ServerProcessBuilder dataDir(Path dir) {
    this.dataDir = dir;
    return this;
  }

  /** Tenant files; by default the checkout's {@code tenants/}. */
  public ServerProcessBuilder tenantsDir(Path dir) {
    this.tenantsDir = dir;
    return this;
  }

  /** The admin port's token (ATRIUM_ADMIN_TOKEN); a random one by default. */
  public ServerProcessBuilder adminToken(String token) {
    this.adminToken = token;
    return this;
  }

  /** ATRIUM_CLUSTER_JOIN: {@code self} (the server's default), {@code seed-nodes} or {@code kubernetes}. */
  public ServerProcessBuilder clusterJoin(String join) {
    env.put("ATRIUM_CLUSTER_JOIN", join);
    return this;
  }

  /** Joins through these seed nodes ({@link ServerProcess#pekkoAddress(int)}); the first seed may be this node. */
  public ServerProcessBuilder seedNodes(String... addresses) {
    clusterJoin("seed-nodes");
    for (int i = 0; i < addresses.length; i++) {
      systemProperty("pekko.cluster.seed-nodes." + i, addresses[i]);
    }
    return this;
  }

  public ServerProcessBuilder env(String key, String value) {
    env.put(key, value);
    return this;
  }

  /** A {@code -Dkey=value} for the node's JVM; system properties override the configuration files. */
  public ServerProcessBuilder systemProperty(String key, String value) {
    systemProperties.put(key, value);
    return this;
  }

  /** Replaces the default JVM options (small heap, serial GC, C1 only). */
  public ServerProcessBuilder jvmOptions(String... options) {
    this.jvmOptions = List.of(options);
    return this;
  }

  /** Where run folders go; {@code target/atrium-nodes} of the working directory by default. */
  public ServerProcessBuilder runsDir(Path dir) {
    this.runsDir = dir;
    return this;
  }

  /** How long {@link ServerProcess#awaitHealthy()} waits; 60 s by default. */
  public ServerProcessBuilder startupTimeout(Duration timeout) {
    this.startupTimeout = timeout;
    return this;
  }

  /** Starts the JVM and returns at once; call {@link ServerProcess#awaitHealthy()} before using it. */
  public ServerProcess launch() {
    var ports = new ServerProcess.Ports(orFree(httpPort), orFree(adminPort), orFree(managementPort), orFree(remotePort));
    Path runDir = runsDir.toAbsolutePath().resolve(
        name + "-" + LocalDateTime.now().format(RUN_STAMP) + "-" + UUID.randomUUID().toString().substring(0, 4));
    boolean embedded = !env.containsKey("ATRIUM_DATABASE_URL");
    Path data = dataDir == null && embedded ? runDir.resolve("data") : dataDir;
    Path tenants = tenantsDir != null ? tenantsDir : ServerProcess.repoRoot().resolve("tenants");

    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    systemProperties.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.addAll(List.of("-cp", classpath, "dev.atrium.server.Main",
        "--http-port", Integer.toString(ports.http()),
        "--admin-port", Integer.toString(ports.admin()),
        "--management-port", Integer.toString(ports.management()),
        "--remote-port", Integer.toString(ports.remote()),
        "--tenants-dir", tenants.toAbsolutePath().toString()));
    if (data != null) {
      command.addAll(List.of("--data-dir", data.toAbsolutePath().toString()));
    }

    ProcessBuilder pb = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(runDir.resolve(ServerProcess.LOG_FILE).toFile());
    // The node reads what this builder says, not the ATRIUM_* variables of whoever runs the tests.
    pb.environment().keySet().removeIf(k -> k.startsWith("ATRIUM_"));
    pb.environment().put("ATRIUM_ADMIN_TOKEN", adminToken);
    pb.environment().putAll(env);
    try {
      Files.createDirectories(runDir);
      return new ServerProcess(name, pb.start(), ports, adminToken, runDir, embedded ? data.toAbsolutePath() : null,
          embedded && dataDir == null, startupTimeout);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start node " + name, e);
    }
  }

  /** Starts the JVM and waits until it is healthy; a node that does not get there is killed. */
  public ServerProcess start() {
    ServerProcess node = launch();
    try {
      return node.awaitHealthy();
    } catch (RuntimeException e) {
      node.kill();
      throw e;
    }
  }

  private static int orFree(int port) {
    return port == 0 ? ServerProcess.freePort() : port;
  }
}
