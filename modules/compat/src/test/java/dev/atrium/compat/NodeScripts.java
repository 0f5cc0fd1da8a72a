package dev.atrium.compat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The Node project of {@code src/test/node}, which Maven copies to {@code target/node}:
 * installs its locked packages with {@code npm ci} (only when the lock file changed since
 * the last install) and runs its scripts.
 */
final class NodeScripts {
  private static final String INSTALLED_MARKER = ".atrium-installed-lock.sha256";
  private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(3);

  private final Path dir;

  NodeScripts(Path dir) {
    this.dir = dir.toAbsolutePath();
  }

  /** {@code target/node} of this module (Surefire runs in the module's folder). */
  static NodeScripts ofThisModule() {
    return new NodeScripts(Path.of("target", "node"));
  }

  /** {@code npm ci} unless node_modules already holds exactly what package-lock.json says. */
  void install() {
    Path lock = dir.resolve("package-lock.json");
    if (!Files.isRegularFile(lock)) {
      throw new IllegalStateException(lock + " is missing: Maven copies src/test/node there (process-test-resources)");
    }
    String lockHash = sha256(lock);
    // npm ci deletes node_modules first, and the marker with it: a failed install leaves none.
    Path marker = dir.resolve("node_modules").resolve(INSTALLED_MARKER);
    if (Files.isRegularFile(marker) && lockHash.equals(read(marker))) {
      return;
    }
    Run install = run(INSTALL_TIMEOUT, Map.of(), "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts",
        "--loglevel=error");
    if (install.exitCode() != 0) {
      throw new IllegalStateException("npm ci failed (" + install.exitCode() + ") in " + dir + ":\n" + install.stderr());
    }
    write(marker, lockHash);
  }

  /** Runs {@code node script} in the project folder; stdout and stderr are kept apart. */
  Run node(String script, Map<String, String> env, Duration timeout) {
    return run(timeout, env, "node", script);
  }

  /** A finished process: its exit code and what it wrote. */
  record Run(int exitCode, String stdout, String stderr) {
    /** The last line of stdout, where the scripts print their JSON result. */
    String lastLine() {
      List<String> lines = stdout.strip().lines().toList();
      return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }
  }

  private Run run(Duration timeout, Map<String, String> env, String... command) {
    Path out = dir.resolve(command[0] + ".out");
    Path err = dir.resolve(command[0] + ".err");
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
        .redirectOutput(out.toFile())
        .redirectError(err.toFile());
    pb.environment().putAll(env);
    try {
      Process process = pb.start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor();
        throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout.toSeconds()
            + " s; its stderr:\n" + read(err));
      }
      return new Run(process.exitValue(), read(out), read(err));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command[0] + " (is Node.js 20 on the PATH?)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String sha256(Path file) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
