package dev.atrium.server;

import ch.qos.logback.classic.LoggerContext;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Locale;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Which kind of installation runs: {@code atrium.mode} ({@code ATRIUM_MODE}, {@code --mode},
 * {@code --prod} as a shorthand for {@code prod}), the one setting that says it.
 *
 * <p>{@link #strict()} modes refuse what a laptop may have: development keys, the embedded
 * database, a generated admin token. {@code staging} is strict like {@code prod}, so what
 * passes in staging passes in production. Each mode's configuration overlay,
 * {@code conf/mode/<mode>.conf}, sits between the overrides (flags, {@code -D}) and the
 * defaults ({@code application.conf}).
 */
public enum ServerMode {
  DEV,
  STAGING,
  PROD;

  public String code() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Development keys, the embedded database and a generated admin token are refused. */
  public boolean strict() {
    return this != DEV;
  }

  /** The mode {@code atrium.mode} names; an unknown one throws {@link IllegalArgumentException}. */
  public static ServerMode of(String text) {
    for (ServerMode mode : values()) {
      if (mode.code().equals(text)) {
        return mode;
      }
    }
    throw new IllegalArgumentException("atrium.mode (ATRIUM_MODE) must be 'dev', 'staging' or 'prod', not '" + text + "'");
  }

  public static ServerMode fromConfig(Config config) {
    return of(config.getString("atrium.mode"));
  }

  /**
   * The node's configuration before {@code ConfigFactory.load} (system properties over it,
   * substitutions resolved): {@code overrides}, then this mode's overlay, then the defaults.
   */
  public Config layered(Config overrides) {
    return overrides.withFallback(overlay()).withFallback(ConfigFactory.defaultApplication());
  }

  /** This mode's configuration overlay ({@code mode/<mode>.conf} on the classpath). */
  public Config overlay() {
    return ConfigFactory.parseResources("mode/" + code() + ".conf");
  }

  /**
   * Puts the mode on every log line: a logback context property, which the JSON encoder
   * writes as a field ({@code "mode": "prod"}).
   */
  void tagLogs() {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (factory instanceof LoggerContext context) {
      context.putProperty("mode", code());
    }
  }
}
