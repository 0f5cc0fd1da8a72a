package dev.atrium.runs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.tenant.Owner;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A run's Created event and snapshot as main wrote them before owners had kinds read back with a key owner. */
class RunMigrationTest {
  static final ActorTestKit testKit = TestRunType.newTestKit();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** Run$Created as commit 6d65a72 wrote it (no version in the manifest). */
  static final String CREATED_V1 = """
      {"runId":"r1","tenantId":"alpha","spec":{"tenantId":"alpha","ownerKeyId":"k_alpha","type":"batch",
      "input":{"prompts":["one"]},"maxConcurrency":4,"createdAt":"2026-12-01T22:48:54.332Z",
      "deadlineAt":"2026-12-01T23:18:54.332Z","stepNames":["answer"],"subStepCounts":[1]}}""";

  static Object read(String manifest, String json) throws Exception {
    var serialization = SerializationExtension.get(testKit.system());
    var serializer = serialization.serializerFor(Run.Created.class);
    return serialization.deserialize(json.getBytes(StandardCharsets.UTF_8), serializer.identifier(), manifest).get();
  }

  @Test
  void anOlderCreatedEventReadsItsKeyAsTheOwnerWithNoRecordedAccountOrTier() throws Exception {
    var created = (Run.Created) read("dev.atrium.runs.Run$Created", CREATED_V1);
    assertThat(created.spec().owner()).isEqualTo(Owner.key("k_alpha"));
    assertThat(created.spec().accountId()).isNull();
    assertThat(created.spec().tier()).isNull();
    assertThat(created.spec().type()).isEqualTo("batch");
  }

  @Test
  void anOlderSnapshotReadsItsKeyAsTheOwner() throws Exception {
    String snapshot = """
        {"spec":%s,"status":"SUCCEEDED","steps":[],"attempts":{},"progress":100,"message":"succeeded",
        "cancelRequested":false,"startedAt":null,"endedAt":null,"result":null,"error":null,"seq":5}"""
        .formatted(CREATED_V1.substring(CREATED_V1.indexOf("\"spec\":") + 7, CREATED_V1.length() - 1));
    var state = (RunState) read("dev.atrium.runs.RunState", snapshot);
    assertThat(state.spec().orElseThrow().owner()).isEqualTo(Owner.key("k_alpha"));
  }

  @Test
  void todaysCreatedEventCarriesItsVersionAndReadsBackWhole() throws Exception {
    var serialization = SerializationExtension.get(testKit.system());
    RunState.Spec spec = new RunState.Spec("alpha", Owner.user("u_1"), "acct_1", dev.atrium.core.tenant.Tier.PAID,
        "batch", dev.atrium.core.Json.MAPPER.createObjectNode(), 2, java.time.Instant.EPOCH, java.time.Instant.EPOCH,
        java.util.List.of("answer"), java.util.List.of(1));
    var event = new Run.Created("r2", "alpha", spec);
    var serializer = serialization.serializerFor(Run.Created.class);
    String manifest = Serializers.manifestFor(serializer, event);
    assertThat(manifest).isEqualTo("dev.atrium.runs.Run$Created#2");
    byte[] bytes = serialization.serialize(event).get();
    assertThat(new String(bytes, StandardCharsets.UTF_8)).contains("\"owner\":{\"kind\":\"user\",\"id\":\"u_1\"}");
    assertThat(serialization.deserialize(bytes, serializer.identifier(), manifest).get()).isEqualTo(event);
  }
}
