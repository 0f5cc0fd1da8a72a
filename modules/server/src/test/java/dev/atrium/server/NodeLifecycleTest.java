package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.db.DatabaseSettings;
import dev.atrium.testkit.TestDatabase;
import dev.atrium.testkit.TestHttp;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;

/** A node starts, is healthy, keeps a sharded entity's data across a restart, and stops. */
class NodeLifecycleTest {
  @Test
  void aNodeAnswersHealthOnThePublicAndManagementPorts() {
    try (TestNode node = TestNode.start("health")) {
      TestHttp http = node.publicHttp();
      var health = http.get("/health");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(TestHttp.json(health).path("status").asText()).isEqualTo("ok");
      assertThat(TestHttp.json(health).path("mode").asText()).isEqualTo("dev");
      assertThat(health.headers().firstValue("x-request-id")).isPresent();
      assertThat(http.get("/ready").statusCode()).isEqualTo(200);

      TestHttp management = node.managementHttp();
      assertThat(management.get("/alive").statusCode()).isEqualTo(200);
      assertThat(management.get("/ready").statusCode()).isEqualTo(200);
      assertThat(Cluster.get(node.testKit.system()).selfMember().status()).isEqualTo(MemberStatus.up());
    }
  }

  @Test
  void aSessionKeepsItsHistoryAcrossANodeRestart() {
    DatabaseSettings db = TestDatabase.fresh("restart");
    String sessionId;
    try (TestNode first = TestNode.start("first", db)) {
      TestHttp http = first.publicHttp();
      var created = http.postJson("/v1/chat/sessions", "{\"title\": \"survivor\"}", "Authorization", "Bearer demo-key");
      assertThat(created.statusCode()).isEqualTo(201);
      sessionId = TestHttp.json(created).path("id").asText();
      var turn = http.postJson("/v1/chat/sessions/" + sessionId + "/messages",
          "{\"content\": \"still here?\", \"stream\": false}", "Authorization", "Bearer demo-key");
      assertThat(turn.statusCode()).isEqualTo(200);
    }

    try (TestNode second = TestNode.start("second", db)) {
      TestHttp http = second.publicHttp();
      var messages = http.get("/v1/chat/sessions/" + sessionId + "/messages", "Authorization", "Bearer demo-key");
      assertThat(messages.statusCode()).isEqualTo(200);
      assertThat(TestHttp.json(messages).path("data").findValuesAsText("content").get(0)).isEqualTo("still here?");
      assertThat(TestHttp.json(messages).path("data").size()).isEqualTo(2);
      // The same session id under another tenant is another (empty) entity.
      assertThat(http.get("/v1/chat/sessions/" + sessionId, "Authorization", "Bearer acme-key").statusCode()).isEqualTo(404);
    }
  }
}
