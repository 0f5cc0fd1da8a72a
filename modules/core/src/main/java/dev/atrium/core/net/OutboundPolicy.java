package dev.atrium.core.net;

import com.typesafe.config.Config;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Which hosts and addresses one kind of outbound URL may reach.
 *
 * <p>A URL is refused when a configured {@code deny} entry covers its host or any address
 * it resolves to; else it is allowed when a configured {@code allow} entry names its host;
 * else each address must be either covered by an {@code allow} entry or of a class the
 * policy does not refuse by default. So {@code deny} always wins, and {@code allow} only
 * lifts the built-in refusals. Names that are loopback or metadata by definition
 * ({@code localhost}, {@code *.localhost}, {@code metadata.google.internal}, ...) count as
 * that class before any DNS answer, so a resolver that says otherwise changes nothing.
 *
 * @param name {@code request} or {@code operator}, for refusals
 * @param refused the address classes refused unless allowed
 */
public record OutboundPolicy(String name, Set<AddressClass> refused, List<OutboundRule> allow, List<OutboundRule> deny) {

  /** Names that mean a class whatever DNS answers (RFC 6761 localhost; cloud metadata services). */
  private static final Set<String> METADATA_NAMES = Set.of(
      "metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal");

  public OutboundPolicy {
    refused = Set.copyOf(refused);
    allow = List.copyOf(allow);
    deny = List.copyOf(deny);
  }

  /**
   * URLs that come from a request: everything but public addresses is refused, and a
   * host with several addresses is refused when any one of them is.
   */
  public static OutboundPolicy request(List<OutboundRule> allow, List<OutboundRule> deny) {
    return new OutboundPolicy("request", EnumSet.complementOf(EnumSet.of(AddressClass.PUBLIC)), allow, deny);
  }

  /**
   * URLs from the operator's configuration (provider {@code base_url}, JWKS URLs, pipeline
   * sources in tenant files): allowed as configured, a model server on localhost included,
   * unless a {@code deny} entry narrows it.
   */
  public static OutboundPolicy operator(List<OutboundRule> allow, List<OutboundRule> deny) {
    return new OutboundPolicy("operator", EnumSet.noneOf(AddressClass.class), allow, deny);
  }

  /** {@code allow} and {@code deny} of {@code config} (lists of strings), each entry an {@link OutboundRule}. */
  static List<OutboundRule> rules(Config config, String path) {
    List<OutboundRule> rules = new ArrayList<>();
    for (String entry : config.getStringList(path)) {
      try {
        rules.add(OutboundRule.parse(entry));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(path + ": " + e.getMessage());
      }
    }
    return rules;
  }

  /** The class a host name has by definition, whatever it resolves to. */
  static Optional<AddressClass> classOfName(String host) {
    if (host.equals("localhost") || host.endsWith(".localhost")) {
      return Optional.of(AddressClass.LOOPBACK);
    }
    if (METADATA_NAMES.contains(host)) {
      return Optional.of(AddressClass.METADATA);
    }
    return Optional.empty();
  }

  /**
   * Refuses (throws) unless this policy lets the server connect to {@code host}.
   *
   * @param host the parsed host
   * @param addresses every address the host resolves to (its literal address for an IP)
   */
  public void check(HostName host, List<InetAddress> addresses) {
    checkAddresses(host, addresses, checkName(host));
  }

  /**
   * What the name alone decides, before it is resolved: refuses a denied name or one that
   * is a refused class by definition ({@code localhost}); true when an {@code allow} entry
   * names it (then only {@code deny} entries are checked against its addresses).
   */
  boolean checkName(HostName host) {
    if (host.literal().isPresent()) {
      return false;
    }
    String shown = host.name();
    for (OutboundRule rule : deny) {
      if (rule.matchesName(shown)) {
        throw refused("denied", shown + " is denied by atrium.outbound." + name + ".deny (" + rule.text() + ")");
      }
    }
    boolean allowedByName = allow.stream()
        .anyMatch(r -> (r instanceof OutboundRule.Named || r instanceof OutboundRule.UnderDomain) && r.matchesName(shown));
    if (allowedByName) {
      return true;
    }
    Optional<AddressClass> byName = classOfName(shown);
    if (byName.isPresent() && refused.contains(byName.get()) && allow.stream().noneMatch(r -> r.matchesName(shown))) {
      throw refused(byName.get().code(), shown + " is a " + byName.get().code().replace('_', '-') + " host");
    }
    return false;
  }

  void checkAddresses(HostName host, List<InetAddress> addresses, boolean allowedByName) {
    String shown = host.name();
    for (OutboundRule rule : deny) {
      for (InetAddress address : addresses) {
        if (rule.matchesAddress(address)) {
          throw refused("denied", (host.literal().isPresent() ? shown : shown + " resolves to an address that")
              + " is denied by atrium.outbound." + name + ".deny (" + rule.text() + ")");
        }
      }
    }
    if (allowedByName) {
      return;
    }
    for (InetAddress address : addresses) {
      AddressClass cls = AddressClass.of(address.getAddress());
      if (refused.contains(cls) && allow.stream().noneMatch(r -> r.matchesAddress(address))) {
        throw refused(cls.code(), host.literal().isPresent()
            ? shown + " is a " + cls.code().replace('_', '-') + " address"
            : shown + " resolves to a " + cls.code().replace('_', '-') + " address (" + address.getHostAddress() + ")");
      }
    }
  }

  private OutboundRefused refused(String reason, String message) {
    return new OutboundRefused(reason, "outbound URL refused (" + name + " policy): " + message);
  }
}
