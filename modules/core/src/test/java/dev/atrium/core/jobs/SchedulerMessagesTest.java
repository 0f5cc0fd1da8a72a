package dev.atrium.core.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.SerializationRoundTrip;
import dev.atrium.core.entity.Reply;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The scheduler's messages survive Pekko's serializer (tests run with serialize-messages on). */
class SchedulerMessagesTest {
  private static final ActorTestKit KIT = ActorTestKit.create(ConfigFactory
      .parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  @Test
  void everyMessageComesBackAsItWas() {
    var slot = new Job.Slot("chunk-expiry", Instant.parse("2026-12-01T03:00:00Z"), Job.Trigger.CATCH_UP);
    var run = new JobRun("chunk-expiry", slot.scheduledFor(), "catch_up", "pekko://atrium@127.0.0.1:25520",
        Instant.parse("2026-12-01T09:00:00Z"), null, JobRun.RUNNING, Map.of("chunks", 3L), null);
    var replyTo = KIT.<Reply<JobScheduler.Triggered>>createTestProbe().getRef();
    for (Object message : new Object[] {
        new SchedulerBehavior.Resumed(Map.of("chunk-expiry", slot.scheduledFor()), null),
        new SchedulerBehavior.Trigger("chunk-expiry", replyTo),
        new SchedulerBehavior.Claimed(slot, run, true, null, Optional.of(replyTo)),
        new SchedulerBehavior.Claimed(slot, null, false, "database down", Optional.empty()),
        new SchedulerBehavior.Ended(slot, Map.of("chunks", 3L, "documents", 0L), null),
        Reply.accepted(new JobScheduler.Triggered(true, run))}) {
      assertThat(SerializationRoundTrip.of(KIT.system(), message)).as(message.toString()).isEqualTo(message);
    }
  }
}
