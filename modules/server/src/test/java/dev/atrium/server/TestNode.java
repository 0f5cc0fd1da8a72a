package dev.atrium.server;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.testkit.TestConfig;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;

/** A whole Atrium node in the test JVM: real database, real ports, the shipped tenants. */
final class TestNode implements AutoCloseable {
  static final Path SHIPPED_TENANTS = Path.of(System.getProperty("atrium.repo.root", "../..")).resolve("tenants");

  final ActorTestKit testKit;
  final AtriumServer.Running running;
  final Metrics metrics;
  final String adminToken;

  private TestNode(ActorTestKit testKit, AtriumServer.Running running, Metrics metrics, String adminToken) {
    this.testKit = testKit;
    this.running = running;
    this.metrics = metrics;
    this.adminToken = adminToken;
  }

  static TestNode start(String name) {
    return start(name, TestDatabase.fresh(name));
  }

  static TestNode start(String name, DatabaseSettings db) {
    return start(name, db, TenantRegistry.load(SHIPPED_TENANTS, false), Map.of());
  }

  static TestNode start(String name, DatabaseSettings db, TenantRegistry tenants, Map<String, Object> overrides) {
    return start(name, db, tenants, overrides, Clock.systemUTC());
  }

  /** A node whose scheduled jobs read {@code clock}. */
  static TestNode start(String name, DatabaseSettings db, TenantRegistry tenants, Map<String, Object> overrides,
      Clock clock) {
    ActorTestKit kit = ActorTestKit.create("atrium", TestConfig.forDatabase(db, overrides));
    Metrics metrics = new Metrics();
    String token = AdminAuth.generate();
    try {
      var running = AtriumServer.start(kit.system(), new AtriumServer.Settings(tenants, token, metrics, clock))
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      return new TestNode(kit, running, metrics, token);
    } catch (Exception e) {
      kit.shutdownTestKit();
      throw new IllegalStateException("node " + name + " did not start", e);
    }
  }

  TestHttp publicHttp() {
    return new TestHttp(running.publicAddress());
  }

  /** For clients below TestHttp (a raw socket speaking HTTP/1.1). */
  java.net.InetSocketAddress publicAddress() {
    return running.publicAddress();
  }

  TestHttp adminHttp() {
    return new TestHttp(running.adminAddress());
  }

  TestHttp managementHttp() {
    return new TestHttp(running.management().host().address(), running.management().port());
  }

  @Override
  public void close() {
    testKit.shutdownTestKit();
  }
}
