package dev.atrium.rag;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.Json;
import dev.atrium.core.entity.Reply;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The Document entity's versions and deletion, its typed replies, with every message serialized. */
class DocumentTest {
  static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local\npekko.actor.serialize-messages = on")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));
  /** As the document routes answer it: 404 "No such document.". */
  static final Reply<Document.View> NOT_FOUND =
      new Reply.Rejected<>(Reply.Reason.NOT_FOUND, "not_found", "No such document.");

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  final String docId = "doc-" + UUID.randomUUID();
  final EventSourcedBehaviorTestKit<Document.Command, Document.Event, Document.State> document =
      EventSourcedBehaviorTestKit.create(testKit.system(),
          Document.create(Document.entityId("acme", docId), Clock.systemUTC()));

  EventSourcedBehaviorTestKit.CommandResultWithReply<Document.Command, Document.Event, Document.State,
      Reply<Document.View>> replace(String tenantId, String ingestId, String text) {
    var chunk = new Chunker.Chunk("c0", 0, text, "", "hash-" + text);
    return document.runCommand(r -> new Document.Replace(tenantId, ingestId, "guide.md", "text/markdown",
        Json.MAPPER.createObjectNode(), null, "minilm", List.of(chunk), "content-" + text, r));
  }

  static Document.View accepted(Reply<Document.View> reply) {
    assertThat(reply).isInstanceOf(Reply.Accepted.class);
    return ((Reply.Accepted<Document.View>) reply).value();
  }

  @Test
  void anUnknownDocumentIsNotFound() {
    assertThat(document.<Reply<Document.View>>runCommand(r -> new Document.Get("acme", r)).reply())
        .isEqualTo(NOT_FOUND);
    var delete = document.<Reply<Done>>runCommand(r -> new Document.Delete("acme", r));
    assertThat(delete.reply()).isEqualTo(new Reply.Rejected<Done>(Reply.Reason.NOT_FOUND, "not_found",
        "No such document."));
    assertThat(delete.hasNoEvents()).isTrue();
  }

  @Test
  void aReplaceMakesAVersionOnceAndADeleteRemovesItButKeepsTheVersionCount() {
    Document.View first = accepted(replace("acme", "run-1", "one").reply());
    assertThat(first.version()).isEqualTo(1);
    assertThat(first.chunkCount()).isEqualTo(1);
    // The same content from the same ingest run (a retried step): no second version.
    var again = replace("acme", "run-1", "one");
    assertThat(again.hasNoEvents()).isTrue();
    assertThat(accepted(again.reply()).version()).isEqualTo(1);
    assertThat(accepted(replace("acme", "run-2", "two").reply()).version()).isEqualTo(2);

    var deleted = document.<Reply<Done>>runCommand(r -> new Document.Delete("acme", r));
    assertThat(deleted.reply()).isEqualTo(Reply.ok());
    assertThat(deleted.event()).isInstanceOf(Document.Deleted.class);
    assertThat(document.<Reply<Document.View>>runCommand(r -> new Document.Get("acme", r)).reply())
        .isEqualTo(NOT_FOUND);

    document.restart();
    assertThat(accepted(replace("acme", "run-3", "three").reply()).version()).isEqualTo(3);
  }

  @Test
  void anotherTenantFindsNothingAndChangesNothing() {
    replace("acme", "run-1", "one");
    assertThat(document.<Reply<Document.View>>runCommand(r -> new Document.Get("other", r)).reply())
        .isEqualTo(NOT_FOUND);
    var replace = replace("other", "run-2", "theirs");
    assertThat(replace.reply()).isEqualTo(NOT_FOUND);
    assertThat(replace.hasNoEvents()).isTrue();
    var delete = document.<Reply<Done>>runCommand(r -> new Document.Delete("other", r));
    assertThat(delete.hasNoEvents()).isTrue();
    assertThat(accepted(document.<Reply<Document.View>>runCommand(r -> new Document.Get("acme", r)).reply()).version())
        .isEqualTo(1);
  }
}
