package dev.atrium.server;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line of {@code ./atrium serve}. Each flag becomes a configuration override,
 * so flags, environment variables and config files all meet in one place.
 */
public record ServerOptions(Map<String, Object> overrides, boolean help) {
  public static final String USAGE = """
      usage: atrium serve [--http-port 8080] [--admin-port 8081] [--management-port 8558]
                          [--remote-port 25520] [--data-dir DIR] [--tenants-dir DIR]
                          [--mode dev|staging|prod] [--prod]

        --http-port N        public API port (OpenAI-compatible and native routes)
        --admin-port N       admin API and /metrics (needs the admin token)
        --management-port N  pekko-management: /alive and /ready for probes
        --remote-port N      Pekko cluster remoting
        --data-dir DIR       embedded PostgreSQL data directory (default .atrium/data)
        --tenants-dir DIR    tenant files (default tenants)
        --mode MODE          dev (default), staging or prod (ATRIUM_MODE); staging and
                             prod need an external database and an admin token from the
                             environment, and refuse development keys
        --prod               the same as --mode prod
      """;

  private static final Map<String, String> VALUED = Map.of(
      "--http-port", "atrium.http.port",
      "--admin-port", "atrium.http.admin-port",
      "--management-port", "pekko.management.http.port",
      "--remote-port", "pekko.remote.artery.canonical.port",
      "--data-dir", "atrium.embedded-database.data-dir",
      "--tenants-dir", "atrium.tenants-dir",
      "--mode", "atrium.mode");

  private static final List<String> PORTS = List.of("--http-port", "--admin-port", "--management-port", "--remote-port");

  public static ServerOptions parse(String... args) {
    Map<String, Object> overrides = new HashMap<>();
    boolean help = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        value = arg.substring(eq + 1);
        arg = arg.substring(0, eq);
      }
      switch (arg) {
        case "--prod" -> overrides.put("atrium.mode", "prod");
        case "-h", "--help" -> help = true;
        default -> {
          String key = VALUED.get(arg);
          if (key == null) {
            throw new IllegalArgumentException("unknown option " + arg);
          }
          if (value == null) {
            if (i + 1 >= args.length) {
              throw new IllegalArgumentException(arg + " needs a value");
            }
            value = args[++i];
          }
          if (PORTS.contains(arg)) {
            overrides.put(key, port(arg, value));
          } else {
            overrides.put(key, value);
          }
        }
      }
    }
    return new ServerOptions(Map.copyOf(overrides), help);
  }

  private static int port(String flag, String value) {
    try {
      int port = Integer.parseInt(value);
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a port number (0-65535), not '" + value + "'");
    }
  }
}
