package dev.atrium.core.limits;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;

/**
 * The client's address for anonymous keys and rate limits: the peer's address, unless the
 * peer is a proxy the tenant trusts, in which case the right-most address of
 * {@code X-Forwarded-For} that is not itself a trusted proxy. A forwarded-for header from
 * anyone else is ignored, so a client cannot choose its own bucket.
 */
public final class ClientAddress {
  private ClientAddress() {}

  /** An IPv4 or IPv6 network in CIDR notation ({@code 10.0.0.0/8}, {@code ::1/128}, or one address). */
  public record Cidr(byte[] network, int prefix) {
    public static Cidr parse(String text) {
      int slash = text.indexOf('/');
      String address = slash < 0 ? text : text.substring(0, slash);
      byte[] bytes = literal(address).orElseThrow(() -> new IllegalArgumentException("not an IP address: " + address));
      int prefix = slash < 0 ? bytes.length * 8 : Integer.parseInt(text.substring(slash + 1));
      if (prefix < 0 || prefix > bytes.length * 8) {
        throw new IllegalArgumentException("prefix out of range: " + text);
      }
      return new Cidr(bytes, prefix);
    }

    public boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xFF << (8 - rest)) & 0xFF;
      return (address[full] & mask) == (network[full] & mask);
    }
  }

  /** Only IP literals: never a DNS lookup on a header value. */
  static Optional<byte[]> literal(String text) {
    String t = text.trim();
    if (t.startsWith("[") && t.endsWith("]")) {
      t = t.substring(1, t.length() - 1);
    }
    if (t.isEmpty() || !(t.contains(":") || t.matches("[0-9.]+"))) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(t).getAddress());
    } catch (UnknownHostException | SecurityException e) {
      return Optional.empty();
    }
  }

  static boolean trusted(List<Cidr> proxies, byte[] address) {
    return proxies.stream().anyMatch(c -> c.contains(address));
  }

  /**
   * @param peer the address the connection comes from
   * @param forwardedFor the X-Forwarded-For header, if any
   * @param trustedProxies the tenant's trusted proxies
   */
  public static String resolve(InetAddress peer, Optional<String> forwardedFor, List<Cidr> trustedProxies) {
    if (peer == null) {
      return "unknown";
    }
    if (forwardedFor.isEmpty() || !trusted(trustedProxies, peer.getAddress())) {
      return peer.getHostAddress();
    }
    String[] hops = forwardedFor.get().split(",");
    for (int i = hops.length - 1; i >= 0; i--) {
      Optional<byte[]> hop = literal(hops[i]);
      if (hop.isEmpty()) {
        // A malformed hop: stop believing the chain here.
        return peer.getHostAddress();
      }
      if (!trusted(trustedProxies, hop.get())) {
        try {
          return InetAddress.getByAddress(hop.get()).getHostAddress();
        } catch (UnknownHostException e) {
          return peer.getHostAddress();
        }
      }
    }
    return peer.getHostAddress();
  }
}
