package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.testkit.MockLlm;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Streams queued for a few pooled connections, as 64 streams through a node under load are:
 * each connection is handed to the next request the moment the previous answer's body has
 * ended. A stream whose body was cancelled at {@code [DONE]}, before the body's last chunk,
 * had its connection closed by the client after the pool had already handed it on, and
 * that next request failed with "Connection was cancelled (caused by a failure of the
 * underlying HTTP connection)": the benchmark's 502s. Every stream here must succeed with
 * one request each (nothing re-sent) on connections that are reused.
 */
class PooledStreamsTest {
  static ActorTestKit testKit;
  static MockLlm mock;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("pooled", ConfigFactory.parseString("""
        pekko.actor.provider = local
        pekko.http.host-connection-pool.max-connections = 4
        """).withFallback(ConfigFactory.load()));
    mock = MockLlm.startLocal();
  }

  @AfterAll
  static void stop() {
    mock.close();
    testKit.shutdownTestKit();
  }

  @Test
  void streamsQueuedForPooledConnectionsAllSucceedWithOneRequestEach() throws Exception {
    OpenAiProvider provider = new OpenAiProvider(testKit.system(), "up",
        new TenantConfig.ProviderSettings(TenantConfig.ProviderType.OPENAI, mock.baseUrl(), null, 30_000, 0),
        Optional.empty());
    int streams = 1000;
    Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    AtomicInteger answered = new AtomicInteger();
    Source.range(1, streams)
        .mapAsyncUnordered(32, i -> provider.stream(new ChatRequest("mock-model", List.of(ChatMessage.user("hi")), null))
            .runWith(Sink.seq(), testKit.system())
            .handle((events, error) -> {
              if (error == null && ModelGatewayTest.text(events).equals("t0 t1 t2 t3 t4 t5 t6 t7 ")) {
                answered.incrementAndGet();
              } else {
                String cause = error == null ? "wrong answer" : String.valueOf(error.getCause());
                failures.computeIfAbsent(cause, k -> new AtomicInteger()).incrementAndGet();
              }
              return i;
            }))
        .runWith(Sink.ignore(), testKit.system()).toCompletableFuture().get();
    assertThat(failures).isEmpty();
    assertThat(answered.get()).isEqualTo(streams);
    assertThat(mock.stats().requests()).as("requests sent: none was sent twice").isEqualTo(streams);
    assertThat(mock.stats().openConnections()).isBetween(1, 4);
  }
}
