package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.sessions.ChatSession;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;

/** A node starts, is healthy, keeps a sharded entity's data across a restart, and stops. */
class NodeLifecycleTest {
  static final Duration TIMEOUT = Duration.ofSeconds(15);

  @Test
  void aNodeAnswersHealthOnThePublicAndManagementPorts() {
    try (TestNode node = TestNode.start("health")) {
      TestHttp http = node.publicHttp();
      var health = http.get("/health");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(TestHttp.json(health).path("status").asText()).isEqualTo("ok");
      assertThat(health.headers().firstValue("x-request-id")).isPresent();
      assertThat(http.get("/ready").statusCode()).isEqualTo(200);

      TestHttp management = node.managementHttp();
      assertThat(management.get("/alive").statusCode()).isEqualTo(200);
      assertThat(management.get("/ready").statusCode()).isEqualTo(200);
      assertThat(Cluster.get(node.testKit.system()).selfMember().status()).isEqualTo(MemberStatus.up());
    }
  }

  @Test
  void aShardedSessionKeepsItsDataAcrossANodeRestart() throws Exception {
    DatabaseSettings db = TestDatabase.fresh("restart");
    String entityId = ChatSession.entityId("demo", "restart-me");

    try (TestNode first = TestNode.start("first", db)) {
      var session = ClusterSharding.get(first.testKit.system()).entityRefFor(ChatSession.ENTITY_KEY, entityId);
      ChatSession.Message added = session.<ChatSession.Message>askWithStatus(
          r -> new ChatSession.AddMessage("demo", "user", "still here?", r), TIMEOUT).toCompletableFuture().get();
      assertThat(added.content()).isEqualTo("still here?");
    }

    try (TestNode second = TestNode.start("second", db)) {
      var session = ClusterSharding.get(second.testKit.system()).entityRefFor(ChatSession.ENTITY_KEY, entityId);
      ChatSession.Summary summary = session.<ChatSession.Summary>askWithStatus(
          r -> new ChatSession.GetSession("demo", r), TIMEOUT).toCompletableFuture().get();
      assertThat(summary.messages()).extracting(ChatSession.Message::content).containsExactly("still here?");

      // Another tenant addressing the same session id reaches a different entity: nothing there.
      var foreign = ClusterSharding.get(second.testKit.system())
          .entityRefFor(ChatSession.ENTITY_KEY, ChatSession.entityId("acme", "restart-me"));
      TestProbe<org.apache.pekko.pattern.StatusReply<ChatSession.Summary>> probe = second.testKit.createTestProbe();
      foreign.tell(new ChatSession.GetSession("acme", probe.getRef()));
      assertThat(probe.receiveMessage(TIMEOUT).isError()).isTrue();
    }
  }
}
