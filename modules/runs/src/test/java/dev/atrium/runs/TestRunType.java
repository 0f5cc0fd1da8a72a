package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A run type for entity tests. Input {@code {"items": [...]}}, one sub-step per item:
 * "ok" succeeds, "infra:N" fails with an infrastructure error N times then succeeds,
 * "business" fails for good, "gate:<name>" waits until the test opens the gate, "hang"
 * waits until the run's kill switch cuts it. A second step sums the first one's results.
 * Every execution is counted, so tests see what ran twice.
 */
final class TestRunType implements RunType {
  static final Map<String, AtomicInteger> EXECUTIONS = new ConcurrentHashMap<>();
  static final Map<String, CompletableFuture<JsonNode>> GATES = new ConcurrentHashMap<>();

  private final ActorSystem<?> system;
  private final boolean failRun;

  TestRunType(ActorSystem<?> system, boolean failRun) {
    this.system = system;
    this.failRun = failRun;
  }

  /** A local test kit with the test journal, every message serialized: what entity tests run on. */
  static ActorTestKit newTestKit() {
    return ActorTestKit.create(
        ConfigFactory.parseString("pekko.actor.provider = local\npekko.actor.serialize-messages = on")
            .withFallback(EventSourcedBehaviorTestKit.config())
            .withFallback(ConfigFactory.load()));
  }

  /** "test" (failed sub-steps are listed) and "strict" (a failed sub-step fails the run). */
  static RunTypes both(ActorSystem<?> system) {
    return new RunTypes().register(new TestRunType(system, false)).register(new TestRunType(system, true));
  }

  @Override
  public String name() {
    return failRun ? "strict" : "test";
  }

  @Override
  public String inputSchema() {
    return "{\"type\": \"object\", \"required\": [\"items\"], \"properties\": {\"items\": {\"type\": \"array\"}}}";
  }

  @Override
  public int maxInputBytes() {
    return 10_000;
  }

  @Override
  public Duration timeout() {
    return Duration.ofMinutes(5);
  }

  static int executions(String runId, String key) {
    return EXECUTIONS.getOrDefault(runId + "/" + key, new AtomicInteger()).get();
  }

  @Override
  public List<Step> plan(JsonNode input) {
    List<String> keys = IntStream.range(0, input.path("items").size()).mapToObj(Integer::toString).toList();
    Step work = new Step("work", keys, ctx -> {
      int n = EXECUTIONS.computeIfAbsent(ctx.runId() + "/" + ctx.key(), k -> new AtomicInteger()).incrementAndGet();
      String item = ctx.input().path("items").path(Integer.parseInt(ctx.key())).asText();
      if (item.equals("ok")) {
        return CompletableFuture.completedFuture(new TextNode("done-" + ctx.key()));
      }
      if (item.startsWith("infra:")) {
        int failures = Integer.parseInt(item.substring(6));
        return n <= failures
            ? CompletableFuture.failedFuture(RunFailure.infrastructure("upstream 503 (attempt " + n + ")", null))
            : CompletableFuture.completedFuture(new TextNode("recovered-" + ctx.key()));
      }
      if (item.equals("business")) {
        return CompletableFuture.failedFuture(RunFailure.business("invalid item " + ctx.key()));
      }
      if (item.startsWith("gate:")) {
        return GATES.computeIfAbsent(item.substring(5), g -> new CompletableFuture<>());
      }
      return Source.<JsonNode>never().via(ctx.killSwitch().flow()).runWith(Sink.head(), system);
    }, new Step.RetryPolicy(4, Duration.ofMillis(10), Duration.ofMillis(50)),
        (results, failures) -> new IntNode(results.size()), failRun);
    Step sum = new Step("sum", List.of("total"),
        ctx -> CompletableFuture.completedFuture(ctx.previousSteps().get("work")),
        Step.RetryPolicy.NONE, (results, failures) -> results.get("total"), true);
    return List.of(work, sum);
  }
}
