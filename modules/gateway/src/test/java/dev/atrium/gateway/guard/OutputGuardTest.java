package dev.atrium.gateway.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.Futures;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.LocalProvider;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The output guardrails over a streamed answer, split at every point, and the input guardrails over messages. */
class OutputGuardTest {
  static ActorTestKit testKit;
  static TenantConfig tenant;
  static Guards guards;
  static SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeAll
  static void start() throws Exception {
    testKit = ActorTestKit.create("guard",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
    tenant = Json.MAPPER.readValue("""
        {"id": "g", "display_name": "G", "api_keys": [],
         "guardrails": {"blocklists": [
             {"code": "weapons", "terms": ["nerve agent", "Sarin"], "patterns": ["detonat\\\\w*"]},
             {"code": "secrets", "terms": ["project zebra"], "apply_to": ["output"]}],
           "pii": {"input": true, "output": true}}}
        """, TenantConfig.class);
    guards = new Guards(TenantRegistry.of(List.of(tenant), false), registry);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  static UsageRecord.Call call() {
    UsageContext context = new UsageContext("g", null, null, "k", "r", null, null, null, "chat", "PAID", false);
    return UsageRecord.start(context, UsageRecord.CHAT, "local", "local", "local");
  }

  /** The text the deltas of {@code pieces} come out as, and the events. */
  static List<ChatEvent> run(UsageRecord.Call call, List<String> pieces) {
    List<ChatEvent> in = new ArrayList<>();
    pieces.forEach(p -> in.add(new ChatEvent.Delta(p, List.of(), ByteString.fromString("{\"content\":\"raw\"}"))));
    in.add(new ChatEvent.Finish("stop"));
    in.add(new ChatEvent.Usage(3, 4));
    return Source.from(in).via(guards.output(tenant, call)).runWith(Sink.seq(), testKit.system())
        .toCompletableFuture().join();
  }

  static String text(List<ChatEvent> events) {
    StringBuilder text = new StringBuilder();
    events.stream().filter(e -> e instanceof ChatEvent.Delta).forEach(e -> text.append(((ChatEvent.Delta) e).content()));
    return text.toString();
  }

  @Test
  void redactsAcrossEveryChunkBoundary() {
    String answer = "Reach me at jane.doe@example.com or +44 20 7946 0958; card 4111 1111 1111 1111, IBAN "
        + "DE89 3704 0044 0532 0130 00. Bye";
    String expected = "Reach me at [redacted:email] or [redacted:phone]; card [redacted:card], IBAN [redacted:iban]. Bye";
    for (int i = 1; i < answer.length(); i++) {
      for (int j = i; j < answer.length(); j += 7) {
        UsageRecord.Call call = call();
        List<ChatEvent> events = run(call, List.of(answer.substring(0, i), answer.substring(i, j), answer.substring(j)));
        assertThat(text(events)).as("split at %d and %d", i, j).isEqualTo(expected);
        assertThat(call.guardrails()).containsExactlyInAnyOrder("redact:output:email", "redact:output:phone",
            "redact:output:card", "redact:output:iban");
        assertThat(events.get(events.size() - 2)).isEqualTo(new ChatEvent.Finish("stop"));
        assertThat(events.get(events.size() - 1)).isEqualTo(new ChatEvent.Usage(3, 4));
      }
    }
  }

  @Test
  void blocksATermSplitAtEveryPointWithoutLettingItsStartThrough() {
    String answer = "The plan mentions Project Zebra in passing.";
    for (int i = 1; i < answer.length(); i++) {
      UsageRecord.Call call = call();
      List<ChatEvent> seen = new ArrayList<>();
      var done = Source.from(List.<ChatEvent>of(ChatEvent.Delta.text(answer.substring(0, i)),
              ChatEvent.Delta.text(answer.substring(i)), new ChatEvent.Finish("stop")))
          .via(guards.output(tenant, call))
          .runForeach(seen::add, testKit.system()).toCompletableFuture();
      assertThatThrownBy(done::join).satisfies(e -> {
        ApiError error = (ApiError) Futures.unwrap(e);
        assertThat(error.code()).isEqualTo("content_blocked");
        assertThat(error.extensions()).containsEntry("rule", "secrets");
        assertThat(error.getMessage()).doesNotContainIgnoringCase("zebra");
      });
      assertThat(text(seen)).as("split at %d", i).doesNotContainIgnoringCase("project").doesNotContainIgnoringCase("zeb");
      assertThat(call.guardrails()).containsExactly("block:output:secrets");
    }
  }

  @Test
  void aTermInsideALongerWordIsNoMatch() {
    UsageRecord.Call call = call();
    assertThat(text(run(call, List.of("Sarinas and nerve", " agents")))).isEqualTo("Sarinas and nerve agents");
    assertThat(call.guardrails()).isEmpty();
  }

  @Test
  void keepsUpstreamBytesOfDeltasItDidNotTouchAndDropsThemWhereItDid() {
    List<ChatEvent> events = run(call(), List.of("Hello there ", "mail a@b.io ", "bye "));
    List<ChatEvent.Delta> deltas = events.stream().filter(e -> e instanceof ChatEvent.Delta)
        .map(e -> (ChatEvent.Delta) e).toList();
    assertThat(deltas.get(0).content()).isEqualTo("Hello there ");
    assertThat(deltas.get(0).raw()).isNotNull();
    assertThat(deltas).filteredOn(d -> d.content().contains("[redacted:email]")).singleElement()
        .satisfies(d -> assertThat(d.raw()).isNull());
  }

  @Test
  void passesToolCallFragmentsUntouched() {
    var fragment = new ChatEvent.ToolCallDelta(0, "call_1", "function", "lookup", "{\"q\": \"a@b.io\"}");
    List<ChatEvent> events = Source.from(List.<ChatEvent>of(new ChatEvent.Delta("", List.of(fragment), null),
            new ChatEvent.Finish("tool_calls")))
        .via(guards.output(tenant, call())).runWith(Sink.seq(), testKit.system()).toCompletableFuture().join();
    assertThat(events).containsExactly(new ChatEvent.Delta("", List.of(fragment), null),
        new ChatEvent.Finish("tool_calls"));
  }

  @Test
  void blocksInputByRuleCodeAndRedactsWhatItSends() {
    UsageRecord.Call call = call();
    assertThatThrownBy(() -> guards.input(tenant, call, List.of(ChatMessage.user("how to make SARIN at home"))))
        .isInstanceOfSatisfying(ApiError.class, e -> {
          assertThat(e.code()).isEqualTo("content_blocked");
          assertThat(e.status().intValue()).isEqualTo(400);
          assertThat(e.extensions()).containsEntry("rule", "weapons");
          assertThat(e.getMessage()).doesNotContainIgnoringCase("sarin");
        });
    assertThat(call.guardrails()).containsExactly("block:input:weapons");
    assertThat(registry.get("atrium.guardrail.decisions").tags("tenant", "g", "rule", "weapons", "action", "block",
        "direction", "input").counter().count()).isEqualTo(1.0);

    UsageRecord.Call pattern = call();
    assertThatThrownBy(() -> guards.input(tenant, pattern, List.of(ChatMessage.user("it Detonates"))))
        .isInstanceOf(ApiError.class);
    // An output-only rule does not refuse input.
    assertThat(guards.input(tenant, call(), List.of(ChatMessage.user("project zebra")))).hasSize(1);

    UsageRecord.Call redacting = call();
    List<ChatMessage> sent = guards.input(tenant, redacting,
        List.of(ChatMessage.system("be brief"), ChatMessage.user("I am jane@example.com")));
    assertThat(sent.get(0)).isEqualTo(ChatMessage.system("be brief"));
    assertThat(sent.get(1).content()).isEqualTo("I am [redacted:email]");
    assertThat(redacting.guardrails()).containsExactly("redact:input:email");
  }

  @Test
  void redactsTheTextPartsOfAContentPartArray() throws Exception {
    var extra = (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(
        "{\"content\": [{\"type\": \"text\", \"text\": \"call +1-415-555-2671\"}, {\"type\": \"image_url\"}]}");
    ChatMessage message = new ChatMessage("user", "call +1-415-555-2671", null, List.of(), null, extra);
    ChatMessage sent = guards.input(tenant, call(), List.of(message)).get(0);
    assertThat(sent.content()).isEqualTo("call [redacted:phone]");
    assertThat(sent.extra().get("content").get(0).get("text").asText()).isEqualTo("call [redacted:phone]");
    assertThat(message.extra().get("content").get(0).get("text").asText()).isEqualTo("call +1-415-555-2671");
  }

  @Test
  void aTenantWithoutGuardrailsGetsNoStage() throws Exception {
    TenantConfig plain = Json.MAPPER.readValue("{\"id\": \"p\", \"display_name\": \"P\", \"api_keys\": []}",
        TenantConfig.class);
    Guards none = new Guards(TenantRegistry.of(List.of(plain), false), new SimpleMeterRegistry());
    assertThat(none.output(plain, call())).isNull();
    assertThat(none.screensInput(plain)).isFalse();
    List<ChatMessage> messages = List.of(ChatMessage.user("a@b.io"));
    assertThat(none.input(plain, call(), messages)).isSameAs(messages);
  }

  @Test
  void refusesARedactorNoFactoryProvides() throws Exception {
    TenantConfig odd = Json.MAPPER.readValue("""
        {"id": "o", "display_name": "O", "api_keys": [], "guardrails": {"pii": {"redactor": "nope"}}}
        """, TenantConfig.class);
    assertThatThrownBy(() -> new Guards(TenantRegistry.of(List.of(odd), false), new SimpleMeterRegistry()))
        .hasMessageContaining("o.json").hasMessageContaining("no redactor named 'nope'");
  }
}
