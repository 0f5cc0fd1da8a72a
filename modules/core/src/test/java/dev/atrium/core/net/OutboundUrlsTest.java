package dev.atrium.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The guard's table: each address and spelling, allowed or refused (with its reason) per policy. */
class OutboundUrlsTest {
  /** Names resolve from this table, never from DNS. */
  static final Map<String, List<String>> DNS = Map.of(
      "public.example", List.of("93.184.216.34"),
      "two-faced.example", List.of("93.184.216.34", "10.1.2.3"),
      "points-at-metadata.example", List.of("169.254.169.254"),
      "points-at-loopback6.example", List.of("::1"),
      "ollama.internal", List.of("10.9.8.7"),
      "model.corp.example", List.of("172.20.0.5"),
      "localhost", List.of("127.0.0.1"),
      "api.localhost", List.of("127.0.0.1"),
      "metadata.google.internal", List.of("169.254.169.254"));

  static final OutboundUrls.Resolver TABLE = host -> {
    List<String> addresses = DNS.get(host);
    if (addresses == null) {
      throw new UnknownHostException(host);
    }
    List<InetAddress> resolved = new java.util.ArrayList<>();
    for (String a : addresses) {
      resolved.add(InetAddress.getByName(a));
    }
    return resolved;
  };

  static final OutboundUrls DEFAULTS = OutboundUrls.fromConfig(ConfigFactory.load(), TABLE);

  static String verdict(OutboundUrls urls, OutboundPolicy policy, String url) {
    try {
      urls.check(policy, OutboundUrls.parse(url));
      return "allowed";
    } catch (OutboundRefused e) {
      return e.reason();
    }
  }

  @ParameterizedTest(name = "{0}: request {1}, operator {2}")
  @CsvSource({
      // public
      "https://public.example/jwks.json, allowed, allowed",
      "http://93.184.216.34:8080/x, allowed, allowed",
      "https://[2606:4700::1111]/, allowed, allowed",
      "http://[64:ff9b::5db8:d822]/, allowed, allowed",
      // loopback in every spelling a resolver or another client reads
      "http://127.0.0.1/, loopback, allowed",
      "http://127.0.0.1:11434/v1, loopback, allowed",
      "http://127.255.255.254/, loopback, allowed",
      "http://2130706433/, loopback, allowed",
      "http://0177.0.0.1/, loopback, allowed",
      "http://0x7f.0.0.1/, loopback, allowed",
      "http://0x7f000001/, loopback, allowed",
      "http://017700000001/, loopback, allowed",
      "http://127.1/, loopback, allowed",
      "http://127.0.1/, loopback, allowed",
      "http://127.0.0.1./, loopback, allowed",
      "http://[::1]/, loopback, allowed",
      "http://[0:0:0:0:0:0:0:1]/, loopback, allowed",
      "http://[::ffff:127.0.0.1]/, loopback, allowed",
      "http://[::ffff:7f00:1]/, loopback, allowed",
      "http://[::127.0.0.1]/, loopback, allowed",
      "http://[64:ff9b::127.0.0.1]/, loopback, allowed",
      "http://[2002:7f00:1::]/, loopback, allowed",
      "http://localhost:8080/, loopback, allowed",
      "http://LOCALHOST/, loopback, allowed",
      "http://api.localhost/, loopback, allowed",
      "http://points-at-loopback6.example/, loopback, allowed",
      // private: RFC 1918, CGNAT, unique-local, site-local, local-use NAT64
      "http://10.0.0.1/, private, allowed",
      "http://012.0.0.1/, private, allowed",
      "http://167772161/, private, allowed",
      "http://172.16.0.1/, private, allowed",
      "http://172.31.255.255/, private, allowed",
      "http://192.168.1.1/, private, allowed",
      "http://0xc0.0xa8.1.1/, private, allowed",
      "http://100.64.0.1/, private, allowed",
      "http://100.127.255.255/, private, allowed",
      "http://[fc00::1]/, private, allowed",
      "http://[fd12:3456::1]/, private, allowed",
      "http://[fec0::1]/, private, allowed",
      "http://[::ffff:10.0.0.1]/, private, allowed",
      "http://[::ffff:a00:1]/, private, allowed",
      "http://[64:ff9b:1::a00:1]/, private, allowed",
      "http://two-faced.example/, private, allowed",
      "http://ollama.internal:11434/, private, allowed",
      // link-local
      "http://169.254.1.1/, link_local, allowed",
      "http://[fe80::1]/, link_local, allowed",
      "http://[febf::1]/, link_local, allowed",
      // cloud metadata, by address and by name
      "http://169.254.169.254/latest/meta-data/, metadata, allowed",
      "http://2852039166/, metadata, allowed",
      "http://0251.0376.0251.0376/, metadata, allowed",
      "http://0xa9fea9fe/, metadata, allowed",
      "http://169.254.43518/, metadata, allowed",
      "http://[::ffff:169.254.169.254]/, metadata, allowed",
      "http://[::ffff:a9fe:a9fe]/, metadata, allowed",
      "http://[64:ff9b::a9fe:a9fe]/, metadata, allowed",
      "http://[fd00:ec2::254]/, metadata, allowed",
      "http://169.254.170.2/v2/credentials, metadata, allowed",
      "http://100.100.100.200/, metadata, allowed",
      "http://metadata.google.internal/computeMetadata/v1/, metadata, allowed",
      "http://metadata.google.internal./, metadata, allowed",
      "http://points-at-metadata.example/, metadata, allowed",
      // unspecified, multicast, broadcast, reserved
      "http://0.0.0.0/, unspecified, allowed",
      "http://0/, unspecified, allowed",
      "http://0.1.2.3/, unspecified, allowed",
      "http://[::]/, unspecified, allowed",
      "http://[::ffff:0.0.0.0]/, unspecified, allowed",
      "http://224.0.0.1/, multicast, allowed",
      "http://239.255.255.250/, multicast, allowed",
      "http://[ff02::1]/, multicast, allowed",
      "http://255.255.255.255/, broadcast, allowed",
      "http://4294967295/, broadcast, allowed",
      "http://240.0.0.1/, reserved, allowed",
      "http://192.0.2.1/, reserved, allowed",
      "http://198.18.0.1/, reserved, allowed",
      "http://[2001:db8::1]/, reserved, allowed",
      "http://[100::1]/, reserved, allowed",
      "http://[::8.8.8.8]/, reserved, allowed",
      // refused under both policies: schemes, hosts no parser agrees on
      "file:///etc/passwd, scheme, scheme",
      "ftp://public.example/, scheme, scheme",
      "gopher://127.0.0.1:6379/, scheme, scheme",
      "http://user@public.example/, userinfo, userinfo",
      "http://public.example@127.0.0.1/, userinfo, userinfo",
      "http://1.2.3.256/, invalid_host, invalid_host",
      "http://08.0.0.1/, invalid_host, invalid_host",
      "http://1.2.3.4.5/, invalid_host, invalid_host",
      "http://4294967296/, invalid_host, invalid_host",
      "http://public.example.123/, invalid_host, invalid_host",
      "http://%31%32%37.0.0.1/, invalid_host, invalid_host",
      "http://[fe80::1%25eth0]/, invalid_host, invalid_host",
      "http://nowhere.example/, unresolvable, unresolvable",
  })
  void refusesWhatEachPolicyRefuses(String url, String request, String operator) {
    assertThat(verdict(DEFAULTS, DEFAULTS.request(), url)).as("request policy").isEqualTo(request);
    assertThat(verdict(DEFAULTS, DEFAULTS.operator(), url)).as("operator policy").isEqualTo(operator);
  }

  @Test
  void connectsToTheCanonicalFormOfTheAddressItChecked() {
    var checked = DEFAULTS.check(DEFAULTS.operator(), URI.create("http://0x7f.1:8080/v1/models?x=1#frag"));
    assertThat(checked.connectTo()).hasToString("http://127.0.0.1:8080/v1/models?x=1");
    assertThat(DEFAULTS.check(DEFAULTS.operator(), URI.create("http://[::ffff:7f00:1]/")).connectTo())
        .hasToString("http://127.0.0.1/");
    assertThat(DEFAULTS.check(DEFAULTS.request(), URI.create("https://PUBLIC.example.")).connectTo())
        .hasToString("https://public.example/");
  }

  @Test
  void refusalsNameTheHostButNeverThePathOrQuery() {
    assertThatThrownBy(() -> DEFAULTS.check(DEFAULTS.request(), URI.create("http://10.0.0.1/a?token=s3cr3t")))
        .isInstanceOf(OutboundRefused.class)
        .hasMessageContaining("10.0.0.1").hasMessageContaining("private")
        .hasMessageNotContaining("s3cr3t").hasMessageNotContaining("/a");
    assertThatThrownBy(() -> DEFAULTS.check(DEFAULTS.request(), URI.create("http://two-faced.example/")))
        .hasMessageContaining("two-faced.example resolves to a private address (10.1.2.3)");
  }

  @Test
  void serverConfigWidensTheRequestPolicy() {
    OutboundUrls widened = OutboundUrls.fromConfig(config("""
        atrium.outbound.request.allow = ["10.20.0.0/16", "ollama.internal", "*.corp.example", "loopback"]
        """), TABLE);
    assertThat(verdict(widened, widened.request(), "http://10.20.3.4/")).isEqualTo("allowed");
    assertThat(verdict(widened, widened.request(), "http://169083652/")).as("10.20.3.4 in decimal").isEqualTo("allowed");
    assertThat(verdict(widened, widened.request(), "http://10.21.0.1/")).isEqualTo("private");
    assertThat(verdict(widened, widened.request(), "http://ollama.internal:11434/")).isEqualTo("allowed");
    assertThat(verdict(widened, widened.request(), "http://model.corp.example/")).isEqualTo("allowed");
    assertThat(verdict(widened, widened.request(), "http://localhost/")).isEqualTo("allowed");
    assertThat(verdict(widened, widened.request(), "http://[::ffff:127.0.0.1]/")).isEqualTo("allowed");
    // What was not widened stays refused.
    assertThat(verdict(widened, widened.request(), "http://169.254.169.254/")).isEqualTo("metadata");
    assertThat(verdict(widened, widened.request(), "http://192.168.0.1/")).isEqualTo("private");
  }

  @Test
  void serverConfigNarrowsBothPoliciesAndDenyWins() {
    OutboundUrls narrowed = OutboundUrls.fromConfig(config("""
        atrium.outbound.request.allow = ["10.0.0.0/8"]
        atrium.outbound.request.deny = ["10.66.0.0/16", "public.example"]
        atrium.outbound.operator.deny = ["metadata", "192.168.0.0/16", "*.corp.example"]
        """), TABLE);
    assertThat(verdict(narrowed, narrowed.request(), "http://10.1.1.1/")).isEqualTo("allowed");
    assertThat(verdict(narrowed, narrowed.request(), "http://10.66.1.1/")).isEqualTo("denied");
    assertThat(verdict(narrowed, narrowed.request(), "http://0x0a.0x42.1.1/")).isEqualTo("denied");
    assertThat(verdict(narrowed, narrowed.request(), "https://public.example/")).isEqualTo("denied");
    assertThat(verdict(narrowed, narrowed.operator(), "http://169.254.169.254/")).isEqualTo("denied");
    assertThat(verdict(narrowed, narrowed.operator(), "http://metadata.google.internal/")).isEqualTo("denied");
    assertThat(verdict(narrowed, narrowed.operator(), "http://[::ffff:192.168.3.3]/")).isEqualTo("denied");
    assertThat(verdict(narrowed, narrowed.operator(), "http://model.corp.example/")).isEqualTo("denied");
    // A provider on localhost still works for the operator.
    assertThat(verdict(narrowed, narrowed.operator(), "http://127.0.0.1:11434/v1")).isEqualTo("allowed");
  }

  @Test
  void aBadEntryNamesItsSetting() {
    assertThatThrownBy(() -> OutboundUrls.fromConfig(config("atrium.outbound.request.allow = [\"10.0.0.0/33\"]")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("atrium.outbound.request.allow").hasMessageContaining("10.0.0.0/33");
    assertThatThrownBy(() -> OutboundUrls.fromConfig(config("atrium.outbound.operator.deny = [\"what ever\"]")))
        .hasMessageContaining("atrium.outbound.operator.deny").hasMessageContaining("what ever");
  }

  static com.typesafe.config.Config config(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.load()).resolve();
  }
}
