package dev.atrium.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.atrium.core.db.DatabaseSettings;
import java.util.HashMap;
import java.util.Map;

/**
 * Configuration for a test actor system: the application's own configuration, pointed at
 * a test database, on free ports, joining itself, with every message serialized.
 */
public final class TestConfig {
  private TestConfig() {}

  public static Config forDatabase(DatabaseSettings db) {
    return forDatabase(db, Map.of());
  }

  public static Config forDatabase(DatabaseSettings db, Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("atrium.database.url", db.url());
    settings.put("atrium.database.owner-user", db.ownerUser());
    settings.put("atrium.database.owner-password", db.ownerPassword());
    settings.put("atrium.database.service-user", db.serviceUser());
    settings.put("atrium.database.service-password", db.servicePassword());
    settings.put("atrium.database.system-user", db.systemUser());
    settings.put("atrium.database.system-password", db.systemPassword());
    settings.put("atrium.database.service-pool-size", db.servicePoolSize());
    settings.put("pekko-persistence-jdbc.shared-databases.atrium.db.numThreads", 3);
    settings.put("pekko-persistence-jdbc.shared-databases.atrium.db.maxConnections", 3);
    settings.put("pekko.actor.serialize-messages", "on");
    settings.put("pekko.remote.artery.canonical.port", 0);
    settings.put("pekko.management.http.port", 0);
    settings.put("atrium.http.port", 0);
    settings.put("atrium.http.admin-port", 0);
    settings.put("atrium.cluster.join", "self");
    settings.put("pekko.coordinated-shutdown.exit-jvm", "off");
    settings.put("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off");
    settings.put("pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on");
    // A node's coordinated shutdown (sharding hand-off, cluster leave) takes more than the
    // testkit's 10 s default on a loaded 2-core machine.
    settings.put("pekko.actor.testkit.typed.system-shutdown-default", "30s");
    settings.putAll(overrides);
    return ConfigFactory.load(ConfigFactory.parseMap(settings)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }
}
