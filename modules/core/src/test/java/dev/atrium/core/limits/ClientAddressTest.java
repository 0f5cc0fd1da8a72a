package dev.atrium.core.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
  static final List<ClientAddress.Cidr> PROXIES =
      List.of(ClientAddress.Cidr.parse("10.0.0.0/8"), ClientAddress.Cidr.parse("::1"));

  static String resolve(String peer, String forwardedFor) throws Exception {
    return ClientAddress.resolve(InetAddress.getByName(peer), Optional.ofNullable(forwardedFor), PROXIES);
  }

  @Test
  void usesThePeerWhenItIsNotATrustedProxy() throws Exception {
    assertThat(resolve("203.0.113.9", "198.51.100.1")).isEqualTo("203.0.113.9");
    assertThat(resolve("203.0.113.9", null)).isEqualTo("203.0.113.9");
  }

  @Test
  void takesTheRightMostUntrustedHopBehindTrustedProxies() throws Exception {
    assertThat(resolve("10.1.2.3", "198.51.100.1")).isEqualTo("198.51.100.1");
    // A client that forges a hop cannot choose its address: the proxy appended the real one.
    assertThat(resolve("10.1.2.3", "1.2.3.4, 198.51.100.1, 10.9.9.9")).isEqualTo("198.51.100.1");
    assertThat(resolve("::1", "2001:db8::7")).isEqualTo("2001:db8:0:0:0:0:0:7");
  }

  @Test
  void ignoresAMalformedChainAndNeverLooksUpNames() throws Exception {
    assertThat(resolve("10.1.2.3", "not-an-address")).isEqualTo("10.1.2.3");
    assertThat(resolve("10.1.2.3", "example.com")).isEqualTo("10.1.2.3");
  }

  @Test
  void matchesNetworks() {
    var net = ClientAddress.Cidr.parse("192.168.16.0/20");
    assertThat(net.contains(new byte[] {(byte) 192, (byte) 168, 31, 1})).isTrue();
    assertThat(net.contains(new byte[] {(byte) 192, (byte) 168, 32, 1})).isFalse();
    assertThat(ClientAddress.Cidr.parse("0.0.0.0/0").contains(new byte[] {1, 2, 3, 4})).isTrue();
    assertThatThrownBy(() -> ClientAddress.Cidr.parse("10.0.0.0/33")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ClientAddress.Cidr.parse("nope")).isInstanceOf(IllegalArgumentException.class);
  }
}
