package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Futures;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.gateway.usage.UsageStatus;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * {@code batch}: many prompts, each answered by the gateway, at most the tenant's
 * {@code runs.max_concurrency} upstream calls at once. Each prompt is a sub-step retried
 * three times with backoff on infrastructure failures; a prompt that still fails is listed
 * with its error and the run succeeds with the others (partial failure is success).
 */
public final class BatchRunType implements RunType {
  public static final String NAME = "batch";
  private static final String SCHEMA = """
      {"$schema": "https://json-schema.org/draft/2020-12/schema",
       "type": "object", "additionalProperties": false, "required": ["prompts"],
       "properties": {
         "prompts": {"type": "array", "minItems": 1, "maxItems": 1000,
                     "items": {"type": "string", "minLength": 1, "maxLength": 32000}},
         "model": {"type": "string", "minLength": 1}}}
      """;

  private final ActorSystem<?> system;
  private final ModelGateway gateway;
  private final TenantRegistry tenants;
  private final Duration timeout;
  private final Step.RetryPolicy retry;

  public BatchRunType(ActorSystem<?> system, ModelGateway gateway, TenantRegistry tenants) {
    this.system = system;
    this.gateway = gateway;
    this.tenants = tenants;
    var config = system.settings().config().getConfig("atrium.runs.batch");
    this.timeout = config.getDuration("timeout");
    this.retry = new Step.RetryPolicy(4, config.getDuration("retry-backoff"), Duration.ofSeconds(10));
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String inputSchema() {
    return SCHEMA;
  }

  @Override
  public int maxInputBytes() {
    return 512 * 1024;
  }

  @Override
  public Duration timeout() {
    return timeout;
  }

  @Override
  public List<Step> plan(JsonNode input) {
    List<String> keys = IntStream.range(0, input.path("prompts").size()).mapToObj(Integer::toString).toList();
    return List.of(new Step("answer", keys, this::answer, retry, BatchRunType::collect, false));
  }

  private CompletionStage<JsonNode> answer(Step.Context context) {
    String prompt = context.input().path("prompts").path(Integer.parseInt(context.key())).asText();
    JsonNode model = context.input().path("model");
    var route = gateway.resolve(context.tenantId(), ModelTask.RUN_PROMPT, model.isTextual() ? model.asText() : null);
    if (route.isEmpty()) {
      return CompletableFuture.failedFuture(RunFailure.business("unknown model " + model.asText()
          + "; this tenant's models are " + gateway.models(context.tenantId())));
    }
    List<ChatMessage> messages = List.of(ChatMessage.user(prompt));
    UsageRecord.Call call = UsageRecord.start(RunUsage.of(tenants, context), UsageRecord.RUN_PROMPT, route.get());
    Answer answer = new Answer();
    // A stream, not a single request: the run's kill switch can cut it when the run is cancelled.
    return gateway.stream(route.get(), messages, null, List.of(), call)
        .via(context.killSwitch().flow())
        .runForeach(event -> {
          if (event instanceof ChatEvent.Delta d) {
            call.firstToken();
            answer.text.append(d.content());
          } else if (event instanceof ChatEvent.Usage u) {
            answer.usage = u;
          }
        }, system)
        .whenComplete((done, error) -> {
          if (call.attempted()) {
            gateway.usage().record(call.end(error == null ? UsageStatus.OK : UsageStatus.of(error), answer.usage,
                messages, answer.text.toString()));
          } else {
            gateway.abandoned(call);
          }
        })
        .exceptionally(error -> {
          // The tenant's budget refused the call: retrying will not help before its period resets.
          // Nor when its guardrails blocked the prompt or the answer: the same prompt is blocked again.
          if (Futures.unwrap(error) instanceof ApiError refused
              && (refused.code().equals("budget_exceeded") || refused.code().equals("content_blocked"))) {
            throw RunFailure.business(refused.getMessage());
          }
          throw Futures.rethrow(error);
        })
        .thenApply(done -> {
          ObjectNode result = Json.MAPPER.createObjectNode();
          result.put("answer", answer.text.toString());
          result.put("model", route.get().model());
          if (answer.usage != null) {
            result.put("tokens_in", answer.usage.promptTokens());
            result.put("tokens_out", answer.usage.completionTokens());
          }
          return result;
        });
  }

  /** The answer as it streams in: touched by the stream's one thread, read once it has ended. */
  private static final class Answer {
    private final StringBuilder text = new StringBuilder();
    private volatile ChatEvent.Usage usage;
  }

  /** Every prompt's answer or error, in order, with counts. */
  static JsonNode collect(Map<String, JsonNode> results, Map<String, String> failures) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    ArrayNode items = out.putArray("items");
    int total = results.size() + failures.size();
    for (int i = 0; i < total; i++) {
      String key = Integer.toString(i);
      ObjectNode item = items.addObject();
      item.put("index", i);
      if (results.containsKey(key)) {
        item.setAll((ObjectNode) results.get(key));
      } else {
        item.put("error", failures.get(key));
      }
    }
    out.put("succeeded", results.size());
    out.put("failed", failures.size());
    return out;
  }
}
