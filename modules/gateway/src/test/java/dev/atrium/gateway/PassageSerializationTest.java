package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A {@link Passage} travels between nodes through our Jackson serializer: its JSON is its
 * six components and nothing else (the static {@link Passage#citation} view is not a
 * property), so a passage written before that view existed reads back the same.
 */
class PassageSerializationTest {
  private static final ActorTestKit KIT = ActorTestKit.create(com.typesafe.config.ConfigFactory
      .parseString("pekko.actor.provider = local").withFallback(com.typesafe.config.ConfigFactory.load()));
  private static final Serialization SERIALIZATION = SerializationExtension.get(Adapter.toClassic(KIT.system()));
  /** As the serializer wrote a passage before {@code Passage.citation} was added. */
  private static final String WRITTEN_BEFORE =
      "{\"index\":2,\"docId\":\"d_1\",\"chunkId\":\"c3\",\"source\":\"src/Beacon.java\",\"text\":\"amber in fog\",\"score\":0.75}";

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  @Test
  void aPassageWrittenBeforeReadsBackAndIsWrittenTheSameWay() {
    Passage passage = new Passage(2, "d_1", "c3", "src/Beacon.java", "amber in fog", 0.75);
    var serializer = SERIALIZATION.findSerializerFor(passage);
    String manifest = Serializers.manifestFor(serializer, passage);
    Object read = SERIALIZATION.deserialize(WRITTEN_BEFORE.getBytes(StandardCharsets.UTF_8), serializer.identifier(),
        manifest).get();
    assertThat(read).isEqualTo(passage);
    assertThat(new String(SERIALIZATION.serialize(passage).get(), StandardCharsets.UTF_8)).isEqualTo(WRITTEN_BEFORE);
  }
}
