package dev.atrium.core.net;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * What kind of address an IP is, for the outbound-URL guard: everything but {@link #PUBLIC}
 * is somewhere a URL from a request must not make the server connect to.
 *
 * <p>IPv6 forms that carry an IPv4 address (IPv4-mapped {@code ::ffff:0:0/96},
 * IPv4-compatible {@code ::/96}, NAT64 {@code 64:ff9b::/96}, 6to4 {@code 2002::/16}, Teredo
 * {@code 2001::/32}) are classified by the IPv4 address they carry, so
 * {@code [::ffff:7f00:1]} is loopback however it is written. Outside those, IPv6 outside
 * global unicast ({@code 2000::/3}) is reserved.
 */
public enum AddressClass {
  PUBLIC,
  LOOPBACK,
  /** RFC 1918, CGNAT 100.64/10, unique-local fc00::/7, site-local fec0::/10, local-use NAT64. */
  PRIVATE,
  LINK_LOCAL,
  /** Cloud instance metadata services: credentials live there. */
  METADATA,
  UNSPECIFIED,
  MULTICAST,
  BROADCAST,
  /** Documentation, benchmarking, IETF protocol assignments, future use, deprecated forms. */
  RESERVED;

  /** The name used in configuration and in refusals: {@code link_local}, {@code metadata}. */
  public String code() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The class named {@code code} ({@code link-local} and {@code link_local} alike). */
  public static Optional<AddressClass> ofCode(String code) {
    String normal = code.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    return Arrays.stream(values()).filter(c -> c.name().equals(normal)).findFirst();
  }

  /** @param address 4 or 16 bytes, as {@link java.net.InetAddress#getAddress()} gives them */
  public static AddressClass of(byte[] address) {
    return switch (address.length) {
      case 4 -> ofIpv4(u32(address, 0));
      case 16 -> ofIpv6(address);
      default -> throw new IllegalArgumentException("not an IP address: " + address.length + " bytes");
    };
  }

  static AddressClass ofIpv4(long a) {
    if (a == ip(169, 254, 169, 254) || a == ip(169, 254, 170, 2) || a == ip(100, 100, 100, 200)) {
      return METADATA; // AWS/GCP/Azure/OpenStack, AWS ECS task metadata, Alibaba Cloud
    }
    if (a == 0xFFFF_FFFFL) {
      return BROADCAST;
    }
    if (in(a, 0, 0, 0, 0, 8)) {
      return UNSPECIFIED; // "this network": 0.0.0.0 reaches the local host on Linux
    }
    if (in(a, 127, 0, 0, 0, 8)) {
      return LOOPBACK;
    }
    if (in(a, 10, 0, 0, 0, 8) || in(a, 172, 16, 0, 0, 12) || in(a, 192, 168, 0, 0, 16) || in(a, 100, 64, 0, 0, 10)) {
      return PRIVATE;
    }
    if (in(a, 169, 254, 0, 0, 16)) {
      return LINK_LOCAL;
    }
    if (in(a, 224, 0, 0, 0, 4)) {
      return MULTICAST;
    }
    if (in(a, 192, 0, 0, 0, 24) || in(a, 192, 0, 2, 0, 24) || in(a, 198, 51, 100, 0, 24) || in(a, 203, 0, 113, 0, 24)
        || in(a, 198, 18, 0, 0, 15) || in(a, 192, 88, 99, 0, 24) || in(a, 240, 0, 0, 0, 4)) {
      return RESERVED;
    }
    return PUBLIC;
  }

  static AddressClass ofIpv6(byte[] b) {
    if (prefix(b, 0, 15) && b[15] == 0) {
      return UNSPECIFIED;
    }
    if (prefix(b, 0, 15) && b[15] == 1) {
      return LOOPBACK;
    }
    if (prefix(b, 0, 10) && (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF) {
      return ofIpv4(u32(b, 12)); // IPv4-mapped
    }
    if (prefix(b, 0, 12)) {
      // IPv4-compatible (deprecated): nobody routes it, but a stack may still map it
      AddressClass embedded = ofIpv4(u32(b, 12));
      return embedded == PUBLIC ? RESERVED : embedded;
    }
    int w0 = u16(b, 0);
    int w1 = u16(b, 2);
    if (w0 == 0x0064 && w1 == 0xff9b && prefix(b, 4, 12)) {
      return ofIpv4(u32(b, 12)); // NAT64 well-known prefix: the IPv4 host it translates to
    }
    if (w0 == 0x0064 && w1 == 0xff9b && u16(b, 4) == 0x0001) {
      return PRIVATE; // local-use NAT64 (RFC 8215)
    }
    if (w0 == 0x2002) {
      return ofIpv4(u32(b, 2)); // 6to4
    }
    if (w0 == 0x2001 && w1 == 0x0000) {
      return ofIpv4(~u32(b, 12) & 0xFFFF_FFFFL); // Teredo: the client's address, inverted
    }
    if (w0 == 0xfd00 && w1 == 0x0ec2 && prefix(b, 4, 14) && u16(b, 14) == 0x0254) {
      return METADATA; // AWS instance metadata over IPv6, fd00:ec2::254
    }
    if ((w0 & 0xfe00) == 0xfc00 || (w0 & 0xffc0) == 0xfec0) {
      return PRIVATE;
    }
    if ((w0 & 0xffc0) == 0xfe80) {
      return LINK_LOCAL;
    }
    if ((w0 & 0xff00) == 0xff00) {
      return MULTICAST;
    }
    if ((w0 == 0x2001 && w1 == 0x0db8) || (w0 == 0x2001 && w1 == 0x0002 && u16(b, 4) == 0)
        || (w0 == 0x2001 && (w1 & 0xfff0) == 0x0010) || (w0 & 0xe000) != 0x2000) {
      return RESERVED; // documentation, benchmarking, ORCHID, anything outside 2000::/3 (100::/64 included)
    }
    return PUBLIC;
  }

  private static long ip(int a, int b, int c, int d) {
    return ((long) a << 24) | ((long) b << 16) | ((long) c << 8) | d;
  }

  private static boolean in(long address, int a, int b, int c, int d, int bits) {
    long mask = bits == 0 ? 0 : (0xFFFF_FFFFL << (32 - bits)) & 0xFFFF_FFFFL;
    return (address & mask) == (ip(a, b, c, d) & mask);
  }

  /** True when bytes [from, to) are all zero. */
  private static boolean prefix(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static int u16(byte[] b, int at) {
    return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
  }

  private static long u32(byte[] b, int at) {
    return ((long) u16(b, at) << 16) | u16(b, at + 2);
  }
}
