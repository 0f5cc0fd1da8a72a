package dev.atrium.core.net;

import com.typesafe.config.Config;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;

/**
 * The one guard for URLs the server connects to (DESIGN.md: outbound URLs). Two policies:
 * {@link #request()} for URLs that come from a request (a repository's {@code source_url},
 * anything a caller can point the server at), which may reach only public addresses, and
 * {@link #operator()} for URLs from the operator's configuration, allowed as configured.
 * {@code atrium.outbound.<policy>.allow / deny} in the server config widen or narrow
 * either (see {@link OutboundPolicy} for the order).
 *
 * <p>Only {@code http} and {@code https}, no user info ({@code http://a@b} is read
 * differently by different parsers), and every numeric spelling of an address is read as a
 * resolver would read it ({@link HostName}). A name is resolved here, and refused when
 * <em>any</em> of its addresses is refused, so a name with one public and one private
 * address cannot pick the private one later. {@link OutboundFetch} connects only after this
 * check, on every redirect hop.
 */
public final class OutboundUrls {
  /** Resolves a name to all its addresses (the JDK's resolver unless a test supplies one). */
  @FunctionalInterface
  public interface Resolver {
    List<InetAddress> resolve(String host) throws UnknownHostException;

    Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));
  }

  /**
   * A URL the policy allows.
   *
   * @param connectTo the URL to connect to: scheme, the checked host (an IP literal in its
   *     canonical form, so a numeric spelling is not read twice), port, path and query; no
   *     user info, no fragment
   * @param addresses what the host resolved to when it was checked
   */
  public record Checked(URI connectTo, HostName host, List<InetAddress> addresses) {}

  private final OutboundPolicy request;
  private final OutboundPolicy operator;
  private final Resolver resolver;

  public OutboundUrls(OutboundPolicy request, OutboundPolicy operator, Resolver resolver) {
    this.request = request;
    this.operator = operator;
    this.resolver = resolver;
  }

  /** The built-in policies, nothing widened or narrowed. */
  public static OutboundUrls defaults() {
    return new OutboundUrls(OutboundPolicy.request(List.of(), List.of()), OutboundPolicy.operator(List.of(), List.of()),
        Resolver.SYSTEM);
  }

  /**
   * The policies of {@code atrium.outbound}; a bad entry throws {@link IllegalArgumentException}
   * naming its setting (the server refuses to start on it).
   */
  public static OutboundUrls fromConfig(Config config) {
    return fromConfig(config, Resolver.SYSTEM);
  }

  public static OutboundUrls fromConfig(Config config, Resolver resolver) {
    String root = "atrium.outbound.";
    return new OutboundUrls(
        OutboundPolicy.request(OutboundPolicy.rules(config, root + "request.allow"),
            OutboundPolicy.rules(config, root + "request.deny")),
        OutboundPolicy.operator(OutboundPolicy.rules(config, root + "operator.allow"),
            OutboundPolicy.rules(config, root + "operator.deny")),
        resolver);
  }

  public OutboundPolicy request() {
    return request;
  }

  public OutboundPolicy operator() {
    return operator;
  }

  /**
   * Parses, resolves and checks {@code url}; throws {@link OutboundRefused} when {@code policy}
   * does not let the server connect to it. Blocks on DNS: call it off the request threads.
   */
  public Checked check(OutboundPolicy policy, URI url) {
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new OutboundRefused("scheme", "outbound URL refused (" + policy.name() + " policy): only http and https, not '"
          + HostName.printable(scheme) + "'");
    }
    if (url.isOpaque() || url.getRawAuthority() == null) {
      throw new OutboundRefused("invalid_host", "outbound URL refused: no host");
    }
    String authority = url.getRawAuthority();
    if (authority.contains("@")) {
      throw new OutboundRefused("userinfo", "outbound URL refused: user info in a URL is not supported");
    }
    int port;
    String rawHost;
    int colon = authority.startsWith("[") ? authority.indexOf(':', Math.max(authority.indexOf(']'), 0)) : authority.lastIndexOf(':');
    if (colon >= 0) {
      rawHost = authority.substring(0, colon);
      port = port(authority.substring(colon + 1));
    } else {
      rawHost = authority;
      port = -1;
    }
    if (rawHost.contains("%")) {
      throw new OutboundRefused("invalid_host", "outbound URL refused: a percent-encoded host or zone id");
    }
    HostName host = HostName.parse(rawHost);
    boolean allowedByName = policy.checkName(host);
    List<InetAddress> addresses;
    if (host.literal().isPresent()) {
      addresses = List.of(host.literal().get());
    } else {
      try {
        addresses = resolver.resolve(host.name());
      } catch (UnknownHostException e) {
        throw new OutboundRefused("unresolvable", "outbound URL refused: " + host.name() + " does not resolve");
      }
      if (addresses.isEmpty()) {
        throw new OutboundRefused("unresolvable", "outbound URL refused: " + host.name() + " does not resolve");
      }
    }
    policy.checkAddresses(host, addresses, allowedByName);
    try {
      URI connectTo = new URI(scheme + "://" + host.urlHost() + (port >= 0 ? ":" + port : "")
          + (url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath())
          + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()));
      return new Checked(connectTo, host, List.copyOf(addresses));
    } catch (URISyntaxException e) {
      throw new OutboundRefused("invalid_url", "outbound URL refused: not a valid URL");
    }
  }

  /** A URL from text; a malformed one is refused like any other bad URL. */
  public static URI parse(String url) {
    try {
      return new URI(url);
    } catch (URISyntaxException e) {
      throw new OutboundRefused("invalid_url", "outbound URL refused: not a valid URL");
    }
  }

  private static int port(String text) {
    if (text.isEmpty()) {
      return -1;
    }
    if (!text.matches("[0-9]{1,5}") || Integer.parseInt(text) > 65535 || Integer.parseInt(text) == 0) {
      throw new OutboundRefused("invalid_url", "outbound URL refused: not a port: " + HostName.printable(text));
    }
    return Integer.parseInt(text);
  }
}
