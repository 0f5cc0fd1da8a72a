package dev.atrium.core.net;

import java.net.IDN;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The host of a URL as a resolver or another client would read it: a name, or an IP
 * address however it is spelled.
 *
 * <p>Numeric spellings are <em>interpreted</em>, not refused: a host whose last label is a
 * number is read the way the WHATWG URL standard's IPv4 parser reads it (which is
 * {@code inet_aton}'s reading: one to four parts, each decimal, octal with a leading
 * {@code 0}, or hex with {@code 0x}; the last part fills the remaining bytes), so
 * {@code 2130706433}, {@code 0177.0.0.1}, {@code 0x7f.0.0.1} and {@code 127.1} are all
 * 127.0.0.1, and the guard checks that address. The fetch then connects to the address in
 * its canonical dotted form, so nothing downstream can read the spelling differently. A
 * host that ends in a number but is no valid IPv4 address ({@code 1.2.3.256},
 * {@code 08.0.0.1}) is refused, as that standard fails it, rather than handed to a resolver
 * that might guess. IPv6 literals are parsed by the JDK; zone ids ({@code %eth0}) are refused.
 *
 * @param name the host in lower case, IDN in its ASCII form, without a trailing dot; the
 *     canonical address for an IP literal
 * @param literal the address when the host is an IP literal in any spelling
 */
public record HostName(String name, Optional<InetAddress> literal) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9_-]+(\\.[a-z0-9_-]+)*");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]+");

  /** @param host the host of a URL: a name, digits, or an IPv6 literal in brackets */
  public static HostName parse(String host) {
    if (host == null || host.isEmpty()) {
      throw invalid("a URL without a host");
    }
    if (host.startsWith("[")) {
      return ipv6(host);
    }
    String name;
    try {
      name = IDN.toASCII(host).toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      throw invalid("not a host name: " + printable(host));
    }
    if (name.endsWith(".")) {
      name = name.substring(0, name.length() - 1);
    }
    if (!NAME.matcher(name).matches()) {
      throw invalid("not a host name: " + printable(host));
    }
    String[] parts = name.split("\\.");
    if (!endsInANumber(parts[parts.length - 1])) {
      return new HostName(name, Optional.empty());
    }
    byte[] address = ipv4(parts).orElseThrow(() -> invalid("not a valid IPv4 address: " + printable(host)));
    try {
      InetAddress literal = InetAddress.getByAddress(address);
      return new HostName(literal.getHostAddress(), Optional.of(literal));
    } catch (UnknownHostException e) {
      throw invalid("not a valid IPv4 address: " + printable(host));
    }
  }

  /** The host as it goes into the URL that is connected to ({@code [::1]} for IPv6). */
  public String urlHost() {
    return name.contains(":") ? "[" + name + "]" : name;
  }

  private static HostName ipv6(String host) {
    if (!host.endsWith("]") || !IPV6.matcher(host.substring(1, host.length() - 1)).matches()
        || !host.contains(":")) {
      throw invalid("not an IPv6 address: " + printable(host));
    }
    try {
      // Only hex digits, colons and dots: the JDK parses a literal and never asks DNS.
      InetAddress literal = InetAddress.getByName(host.substring(1, host.length() - 1));
      return new HostName(literal.getHostAddress(), Optional.of(literal));
    } catch (UnknownHostException e) {
      throw invalid("not an IPv6 address: " + printable(host));
    }
  }

  /** WHATWG "ends in a number": all digits, or a 0x hex number. */
  private static boolean endsInANumber(String last) {
    return last.chars().allMatch(c -> c >= '0' && c <= '9') || number(last).isPresent();
  }

  /** The WHATWG IPv4 parser (inet_aton's forms); empty when the host is no valid IPv4 address. */
  static Optional<byte[]> ipv4(String[] parts) {
    if (parts.length > 4) {
      return Optional.empty();
    }
    long value = 0;
    for (int i = 0; i < parts.length; i++) {
      Optional<Long> n = number(parts[i]);
      if (n.isEmpty()) {
        return Optional.empty();
      }
      boolean last = i == parts.length - 1;
      long limit = last ? 1L << (8 * (5 - parts.length)) : 256;
      if (n.get() >= limit) {
        return Optional.empty();
      }
      value = last ? (value << (8 * (5 - parts.length))) | n.get() : (value << 8) | n.get();
    }
    return Optional.of(new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
  }

  private static Optional<Long> number(String part) {
    if (part.isEmpty()) {
      return Optional.empty();
    }
    int radix = 10;
    String digits = part;
    if (part.startsWith("0x") || part.startsWith("0X")) {
      radix = 16;
      digits = part.substring(2);
    } else if (part.length() > 1 && part.startsWith("0")) {
      radix = 8;
      digits = part.substring(1);
    }
    if (digits.isEmpty()) {
      return Optional.of(0L);
    }
    if (digits.length() > 12) {
      return Optional.empty(); // past any IPv4 number, and past what a long holds safely
    }
    try {
      long n = Long.parseLong(digits, radix);
      return n < 0 ? Optional.empty() : Optional.of(n);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static OutboundRefused invalid(String message) {
    return new OutboundRefused("invalid_host", message);
  }

  /** A host quoted in a refusal: bounded, printable ASCII only. */
  static String printable(String host) {
    String ascii = host.codePoints().map(c -> c >= 0x20 && c < 0x7f ? c : '?')
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    return ascii.length() > 80 ? ascii.substring(0, 80) + "..." : ascii;
  }
}
