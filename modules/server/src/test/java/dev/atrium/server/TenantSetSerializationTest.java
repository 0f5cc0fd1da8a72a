package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The reload's replicated values as they travel between nodes: inside ddata's own types, through our JSON serializer. */
class TenantSetSerializationTest {
  private static final ActorTestKit KIT = ActorTestKit.create("atrium", ConfigFactory.parseString("""
      pekko.actor.provider = cluster
      pekko.remote.artery.canonical.port = 0
      pekko.remote.artery.canonical.hostname = 127.0.0.1
      """).withFallback(ConfigFactory.load()));
  private static final SelfUniqueAddress NODE = new SelfUniqueAddress(
      new UniqueAddress(new Address("pekko", "atrium", "127.0.0.1", 25520), 7L));

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static Object roundTrip(Object message) {
    Serialization serialization = SerializationExtension.get(Adapter.toClassic(KIT.system()));
    byte[] bytes = serialization.serialize(message).get();
    var serializer = serialization.findSerializerFor(message);
    return serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, message)).get();
  }

  @Test
  void aPublishedSetComesBackWithItsFiles() {
    TreeMap<String, String> files = new TreeMap<>(Map.of("acme.json", "{\"id\": \"acme\", \"display_name\": \"Ä\"}",
        "beta.json", "{\"id\": \"beta\"}"));
    TenantSet set = new TenantSet(3, "abc", TenantSet.pack(files), "pekko://atrium@127.0.0.1:25520");
    @SuppressWarnings("unchecked")
    LWWRegister<TenantSet> back = (LWWRegister<TenantSet>) roundTrip(LWWRegister.create(NODE, set));
    assertThat(back.getValue()).isEqualTo(set);
    assertThat(back.getValue().texts()).isEqualTo(files);
    assertThat(TenantSet.NONE.texts()).isEmpty();
  }

  @Test
  void aNodesStateComesBackAsItWas() {
    TenantSet.NodeState state = new TenantSet.NodeState("pekko://atrium@127.0.0.1:25520", 2, "set",
        Map.of("acme", new TenantSet.TenantHashes("f1", "k1")), 3, List.of("acme.json: field 'x': no"),
        "2026-12-02T02:00:00Z");
    @SuppressWarnings("unchecked")
    LWWMap<String, TenantSet.NodeState> back = (LWWMap<String, TenantSet.NodeState>) roundTrip(
        LWWMap.<String, TenantSet.NodeState>create().put(NODE, state.node(), state));
    assertThat(back.getEntries()).containsEntry(state.node(), state);
    assertThat(state.answered(3)).isTrue();
    assertThat(state.answered(4)).isFalse();
  }
}
