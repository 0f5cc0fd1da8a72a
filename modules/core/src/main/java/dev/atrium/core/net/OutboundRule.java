package dev.atrium.core.net;

import dev.atrium.core.limits.ClientAddress;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Optional;

/**
 * One entry of an outbound policy's {@code allow} or {@code deny} list in the server config:
 * a class of addresses ({@code loopback}, {@code private}, {@code link_local},
 * {@code metadata}, ...), a network or address ({@code 10.1.0.0/16}, {@code 127.0.0.1},
 * {@code fd00::/8}), a host name ({@code ollama.internal}), or every name under a domain
 * ({@code *.corp.example} or {@code .corp.example}).
 */
public sealed interface OutboundRule {

  /** Whether the rule covers this host (a name) or one of its addresses. */
  boolean matchesName(String host);

  boolean matchesAddress(InetAddress address);

  /** The entry as it was configured, for refusals and logs. */
  String text();

  static OutboundRule parse(String entry) {
    String text = entry.trim().toLowerCase(Locale.ROOT);
    if (text.isEmpty()) {
      throw new IllegalArgumentException("an empty entry");
    }
    Optional<AddressClass> cls = AddressClass.ofCode(text);
    if (cls.isPresent()) {
      return new OfClass(cls.get());
    }
    if (text.startsWith("*.") || text.startsWith(".")) {
      String domain = text.substring(text.indexOf('.') + 1);
      checkName(entry, domain);
      return new UnderDomain(domain);
    }
    if (text.contains("/") || text.contains(":") || text.matches("[0-9.]+")) {
      try {
        return new InNetwork(ClientAddress.Cidr.parse(text.replace("[", "").replace("]", "")), text);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("not a network or address: '" + entry + "'");
      }
    }
    checkName(entry, text);
    return new Named(text);
  }

  private static void checkName(String entry, String name) {
    if (!name.matches("[a-z0-9_-]+(\\.[a-z0-9_-]+)*")) {
      throw new IllegalArgumentException("not an address class, network, address or host name: '" + entry + "'");
    }
  }

  record OfClass(AddressClass addressClass) implements OutboundRule {
    @Override
    public boolean matchesName(String host) {
      return OutboundPolicy.classOfName(host).filter(c -> c == addressClass).isPresent();
    }

    @Override
    public boolean matchesAddress(InetAddress address) {
      return AddressClass.of(address.getAddress()) == addressClass;
    }

    @Override
    public String text() {
      return addressClass.code();
    }
  }

  record InNetwork(ClientAddress.Cidr network, String text) implements OutboundRule {
    @Override
    public boolean matchesName(String host) {
      return false;
    }

    @Override
    public boolean matchesAddress(InetAddress address) {
      return network.contains(address.getAddress());
    }
  }

  record Named(String name) implements OutboundRule {
    @Override
    public boolean matchesName(String host) {
      return host.equals(name);
    }

    @Override
    public boolean matchesAddress(InetAddress address) {
      return false;
    }

    @Override
    public String text() {
      return name;
    }
  }

  record UnderDomain(String domain) implements OutboundRule {
    @Override
    public boolean matchesName(String host) {
      return host.endsWith("." + domain);
    }

    @Override
    public boolean matchesAddress(InetAddress address) {
      return false;
    }

    @Override
    public String text() {
      return "*." + domain;
    }
  }
}
