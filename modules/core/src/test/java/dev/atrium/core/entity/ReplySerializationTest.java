package dev.atrium.core.entity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.SerializationRoundTrip;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class ReplySerializationTest {
  private static final ActorTestKit KIT = ActorTestKit.create(com.typesafe.config.ConfigFactory
      .parseString("pekko.actor.provider = local").withFallback(com.typesafe.config.ConfigFactory.load()));
  private static final Serialization SERIALIZATION = SerializationExtension.get(Adapter.toClassic(KIT.system()));

  record View(String id, Instant at, List<String> tags) implements JsonSerializable {}

  /** Not ours to deserialize: no JsonSerializable marker. */
  record Foreign(String id) {}

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static Object roundTrip(Object message) {
    return SerializationRoundTrip.of(KIT.system(), message);
  }

  @Test
  void anAcceptedValueComesBackAsItsOwnType() {
    Reply<View> reply = Reply.accepted(new View("s_1", Instant.parse("2026-12-01T10:00:00Z"), List.of("a", "b")));
    assertThat(roundTrip(reply)).isEqualTo(reply);
  }

  @Test
  void aRejectionAndAnEmptyAcceptanceComeBackAsTheyWere() {
    Reply<View> rejected = Reply.conflict("session_exists", "The session exists already.");
    assertThat(roundTrip(rejected)).isEqualTo(rejected);
    assertThat(roundTrip(Reply.ok())).isEqualTo(Reply.ok());
  }

  @Test
  void aValueThatIsNotOneOfOursIsRefusedBothWays() {
    assertThat(SERIALIZATION.serialize(Reply.accepted(new Foreign("x"))).isFailure()).isTrue();
    String forged = "{\"value\":[\"" + Foreign.class.getName() + "\",{\"id\":\"x\"}]}";
    var serializer = SERIALIZATION.findSerializerFor(Reply.ok());
    assertThatThrownBy(() -> SERIALIZATION.deserialize(forged.getBytes(StandardCharsets.UTF_8), serializer.identifier(),
        Reply.Accepted.class.getName()).get()).hasMessageContaining("not a JsonSerializable type");
  }
}
