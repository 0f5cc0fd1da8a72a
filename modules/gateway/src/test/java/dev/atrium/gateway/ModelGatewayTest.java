package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.Json;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.gateway.usage.UsageStatus;
import dev.atrium.testkit.MockLlm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Routing, retries and fallback against a mock OpenAI upstream over real HTTP. */
class ModelGatewayTest {
  @TempDir static Path dir;
  static ActorTestKit testKit;
  static MockLlm mock;
  static ModelGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    testKit = ActorTestKit.create("gateway",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
    mock = MockLlm.start(testKit.system(), "127.0.0.1", 0);
    Files.writeString(dir.resolve("t.json"), """
        {"id": "t", "display_name": "T", "api_keys": [{"id": "k", "sha256": "%s", "tier": "PAID"}],
         "models": {"default_model": "primary",
                    "models": {"primary": {"provider": "up", "upstream_model": "mock-model", "fallbacks": ["backup"]},
                               "solo": {"provider": "up"},
                               "backup": {"provider": "local"}},
                    "providers": {"up": {"type": "openai", "base_url": "%s", "api_key_env": "UPSTREAM_KEY",
                                         "timeout_ms": 2000, "max_retries": 1},
                                  "local": {"type": "local"}}}}
        """.formatted(ApiKeys.sha256("k"), mock.baseUrl()));
    gateway = new ModelGateway(testKit.system(), TenantRegistry.load(dir, false),
        name -> name.equals("UPSTREAM_KEY") ? Optional.of("sk-test-upstream") : Optional.empty(),
        dev.atrium.gateway.usage.UsageRecorder.NONE);
  }

  @AfterAll
  static void stop() {
    mock.close();
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void reset() {
    mock.configure(MockLlm.Behaviour.defaults());
    mock.resetStats();
  }

  static List<ChatEvent> collect(String model) throws Exception {
    var route = gateway.resolve("t", model).orElseThrow();
    return gateway.stream(route, List.of(ChatMessage.user("hello")), null, List.of(), call(route))
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();
  }

  /** A call metered for a caller of tenant t. */
  static UsageRecord.Call call(ModelGateway.Route route) {
    return UsageRecord.start(new UsageContext("t", null, null, "k", "req_1", null, null, null, "chat", "PAID", false),
        UsageRecord.CHAT, route);
  }

  static String text(List<ChatEvent> events) {
    StringBuilder text = new StringBuilder();
    events.stream().filter(ChatEvent.Delta.class::isInstance).forEach(e -> text.append(((ChatEvent.Delta) e).content()));
    return text.toString();
  }

  @Test
  void resolvesTheDefaultModelAndRefusesUnknownOnes() {
    assertThat(gateway.resolve("t", null).orElseThrow().model()).isEqualTo("primary");
    assertThat(gateway.resolve("t", "primary").orElseThrow().attempts()).extracting(ModelGateway.Attempt::model)
        .containsExactly("primary", "backup");
    assertThat(gateway.resolve("t", "gpt-9")).isEmpty();
    assertThat(gateway.models("t")).containsExactly("backup", "primary", "solo");
  }

  @Test
  void streamsFromTheUpstreamWithItsKeyAndUsage() throws Exception {
    List<ChatEvent> events = collect("primary");
    assertThat(text(events)).isEqualTo("t0 t1 t2 t3 t4 t5 t6 t7 ");
    assertThat(events).contains(new ChatEvent.Finish("stop"));
    assertThat(events).filteredOn(ChatEvent.Usage.class::isInstance).hasSize(1);
    assertThat(mock.stats().lastRequestHeaders()).contains("authorization");
    assertThat(mock.stats().lastRequestBody()).contains("\"model\":\"mock-model\"", "\"stream\":true");
  }

  @Test
  void retriesAnInfrastructureFailureBeforeTheFirstToken() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().failing(502, 1));
    assertThat(text(collect("solo"))).isEqualTo("t0 t1 t2 t3 t4 t5 t6 t7 ");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void fallsBackToTheNextModelWhenRetriesRunOut() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().failing(503, Integer.MAX_VALUE));
    String text = text(collect("primary"));
    assertThat(text).startsWith("This is Atrium's local responder");
    assertThat(mock.stats().requests()).isEqualTo(2);
  }

  @Test
  void aMeteredCallIsMeteredForTheFallbackThatAnswered() throws Exception {
    mock.configure(MockLlm.Behaviour.defaults().failing(503, Integer.MAX_VALUE));
    var route = gateway.resolve("t", "primary").orElseThrow();
    var context = new UsageContext("t", null, null, "k", "req_1", null, null, null, "chat", "PAID", false);
    UsageRecord.Call streamed = UsageRecord.start(context, UsageRecord.CHAT, route);
    gateway.stream(route, List.of(ChatMessage.user("hello")), null, List.of(), streamed)
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();
    UsageRecord.Call whole = UsageRecord.start(context, UsageRecord.CHAT, route);
    gateway.complete(route, List.of(ChatMessage.user("hello")), null, List.of(), whole).toCompletableFuture().get();
    for (UsageRecord.Call call : List.of(streamed, whole)) {
      UsageRecord record = call.end(UsageStatus.OK, new ChatEvent.Usage(1, 1), true);
      assertThat(record.model()).isEqualTo("backup");
      assertThat(record.provider()).isEqualTo("local");
      assertThat(record.upstreamModel()).isEqualTo("backup");
    }
  }

  @Test
  void doesNotRetryABusinessFailure() {
    mock.configure(MockLlm.Behaviour.defaults().failing(400, Integer.MAX_VALUE));
    assertThatThrownBy(() -> collect("primary"))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(ProviderException.class)
        .satisfies(e -> assertThat(((ProviderException) e.getCause()).status()).isEqualTo(400));
    assertThat(mock.stats().requests()).isEqualTo(1);
  }

  @Test
  void aStreamCutShortFailsAndIsNotReplayed() {
    mock.configure(MockLlm.Behaviour.defaults().withChunks(10).droppingAfter(2));
    assertThatThrownBy(() -> collect("primary")).hasCauseInstanceOf(ProviderException.class);
    // Tokens had reached the caller: no retry, no fallback.
    assertThat(mock.stats().requests()).isEqualTo(1);
  }

  @Test
  void aSilentUpstreamTimesOut() {
    mock.configure(MockLlm.Behaviour.defaults().withFirstTokenDelay(Duration.ofSeconds(5)));
    long start = System.nanoTime();
    assertThatThrownBy(() -> collect("solo")).hasCauseInstanceOf(ProviderException.class)
        .satisfies(e -> assertThat(((ProviderException) e.getCause()).code()).isEqualTo("upstream_timeout"));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void completesWholeAnswers() throws Exception {
    var route = gateway.resolve("t", "primary").orElseThrow();
    ChatResult result = gateway.complete(route, List.of(ChatMessage.user("hi")),
        Json.MAPPER.createObjectNode().put("temperature", 0.5), List.of(), call(route)).toCompletableFuture().get();
    assertThat(result.content()).isEqualTo("t0 t1 t2 t3 t4 t5 t6 t7 ");
    assertThat(result.usage().completionTokens()).isEqualTo(8);
    assertThat(mock.stats().lastRequestBody()).contains("\"temperature\":0.5", "\"stream\":false");
  }

  @Test
  void parsesUpstreamChunks() {
    assertThat(parseChunk(
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}"))
        .singleElement().isInstanceOfSatisfying(ChatEvent.Delta.class, d -> assertThat(d.content()).isEqualTo("Hi"));
    assertThat(parseChunk(
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}"))
        .containsExactly(new ChatEvent.Finish("length"));
    assertThat(parseChunk(
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}"))
        .containsExactly(new ChatEvent.Usage(3, 4));
    assertThatThrownBy(() -> parseChunk("{\"error\":{\"message\":\"overloaded\"}}"))
        .isInstanceOf(ProviderException.class).hasMessageContaining("overloaded");
    assertThatThrownBy(() -> parseChunk("not json")).isInstanceOf(ProviderException.class);
  }

  @Test
  void countsTokensWithOpenAisEncoding() {
    assertThat(Tokens.count("hello world")).isEqualTo(2);
    assertThat(Tokens.count("")).isZero();
    assertThat(Tokens.countMessages(List.of(ChatMessage.user("hello world")))).isEqualTo(2 + 1 + 3 + 3);
  }

  @Test
  void theLocalProviderIsHonestAboutHavingNoModel() throws Exception {
    LocalProvider local = new LocalProvider("acme");
    List<ChatEvent> events = local.stream(new ChatRequest("local", List.of(ChatMessage.user("What is 2+2?")), null))
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();
    String text = text(events);
    assertThat(text).contains("no language model is configured for tenant 'acme'", "What is 2+2?", "tenants/acme.json");
    assertThat(events.stream().filter(ChatEvent.Delta.class::isInstance).count()).isGreaterThan(10);
    assertThat(events).contains(new ChatEvent.Finish("stop"));
  }

  /** The ChatEvents in one upstream chunk's JSON, as the provider's stream reads it. */
  private static List<ChatEvent> parseChunk(String data) {
    byte[] bytes = data.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    List<ChatEvent> out = new java.util.ArrayList<>(2);
    OpenAiChunk.read(bytes, 0, bytes.length, out);
    return out;
  }
}
