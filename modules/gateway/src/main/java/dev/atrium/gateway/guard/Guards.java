package dev.atrium.gateway.guard;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantConfigException;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatResult;
import dev.atrium.gateway.usage.UsageRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * The tenants' guardrails as the gateway applies them to every model call: compiled once
 * per tenant configuration when the node starts (a redactor no {@link RedactorFactory}
 * provides, or a kind it does not know, stops the node naming the tenant), then applied
 * to a call's messages before anything else sees them and to its answer as it streams.
 * Every decision is told to the call (its usage row's {@code guardrails}, e.g.
 * {@code block:input:weapons}, {@code redact:output:card}) and counted in
 * {@code atrium_guardrail_decisions_total{tenant, rule, action, direction}}, once per call
 * and decision; the matched text goes nowhere.
 */
public final class Guards {
  /** What a guardrail did. */
  public enum Action {
    BLOCK, REDACT;

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Map<String, TenantGuard> byTenant = new ConcurrentHashMap<>();
  private final Map<String, RedactorFactory> factories;
  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  /** @throws TenantConfigException naming each tenant whose redactor or kinds no factory provides */
  public Guards(TenantRegistry tenants, MeterRegistry registry) {
    this.registry = registry;
    Map<String, RedactorFactory> found = new HashMap<>();
    ServiceLoader.load(RedactorFactory.class, Guards.class.getClassLoader()).forEach(f -> found.putIfAbsent(f.name(), f));
    this.factories = Map.copyOf(found);
    List<String> problems = problems(tenants);
    if (!problems.isEmpty()) {
      throw new TenantConfigException(problems);
    }
    for (TenantConfig tenant : tenants.all()) {
      byTenant.put(tenant.id(), compile(tenant));
    }
  }

  /**
   * What the constructor refuses, for a set of tenants a reload would apply: each tenant
   * whose redactor or kinds no factory provides (the patterns compile: the registry checked them).
   */
  public List<String> problems(TenantRegistry tenants) {
    List<String> problems = new ArrayList<>();
    for (TenantConfig tenant : tenants.all()) {
      try {
        compile(tenant);
      } catch (IllegalArgumentException e) {
        problems.add(tenant.id() + ".json: field 'guardrails.pii': " + e.getMessage());
      }
    }
    return problems;
  }

  private TenantGuard compile(TenantConfig tenant) {
    TenantConfig.Pii pii = tenant.guardrails().pii();
    Redactor redactor = null;
    if (pii != null) {
      RedactorFactory factory = factories.get(pii.redactor());
      if (factory == null) {
        throw new IllegalArgumentException("no redactor named '" + pii.redactor() + "' (there are "
            + factories.keySet().stream().sorted().toList() + ")");
      }
      redactor = factory.create(pii.kinds());
    }
    return new TenantGuard(tenant, redactor);
  }

  private TenantGuard guard(TenantConfig tenant) {
    TenantGuard guard = byTenant.get(tenant.id());
    // A tenant file reloaded since: compiled again, once.
    return guard != null && guard.config == tenant ? guard
        : byTenant.compute(tenant.id(), (id, old) -> old != null && old.config == tenant ? old : compile(tenant));
  }

  /** Whether the tenant's calls are screened before they go upstream (a refusal is then a proper 400). */
  public boolean screensInput(TenantConfig tenant) {
    return guard(tenant).screensInput();
  }

  /**
   * The messages {@code call} sends, as they may leave: PII redacted (the same list when
   * there was none).
   *
   * @throws ApiError 400 {@code content_blocked} with the rule's code when an input rule matches
   */
  public List<ChatMessage> input(TenantConfig tenant, UsageRecord.Call call, List<ChatMessage> messages) {
    TenantGuard guard = guard(tenant);
    if (!guard.screensInput()) {
      return messages;
    }
    String code = guard.blocked(messages);
    if (code != null) {
      decided(call, Action.BLOCK, TenantConfig.Direction.INPUT, code);
      throw blockedInput(code);
    }
    return guard.redacted(messages, (action, direction, rule) -> decided(call, action, direction, rule));
  }

  /**
   * Refuses {@code text} when an input rule matches, before a door stores or embeds it (a
   * session's new message, a search query): no redaction here, the gateway redacts the calls.
   */
  public void screen(TenantConfig tenant, UsageRecord.Call call, String text) {
    TenantGuard guard = guard(tenant);
    String code = guard.input == null ? null : guard.input.firstMatch(text);
    if (code != null) {
      decided(call, Action.BLOCK, TenantConfig.Direction.INPUT, code);
      throw blockedInput(code);
    }
  }

  /** The stage the answer of {@code call} streams through, or null when the tenant has no output guardrail. */
  public Flow<ChatEvent, ChatEvent, NotUsed> output(TenantConfig tenant, UsageRecord.Call call) {
    TenantGuard guard = guard(tenant);
    if (!guard.screensOutput()) {
      return null;
    }
    return Flow.fromGraph(new OutputGuard(guard, (action, direction, rule) -> decided(call, action, direction, rule)));
  }

  /**
   * A whole answer through the output guardrails: redacted, or refused.
   *
   * @throws ApiError {@code content_blocked} when an output rule matches
   */
  public ChatResult output(TenantConfig tenant, UsageRecord.Call call, ChatResult result) {
    TenantGuard guard = guard(tenant);
    if (!guard.screensOutput() || result.message().content() == null) {
      return result;
    }
    String text = result.message().content();
    if (guard.output != null) {
      String code = guard.output.firstMatch(text);
      if (code != null) {
        decided(call, Action.BLOCK, TenantConfig.Direction.OUTPUT, code);
        throw blockedOutput(code);
      }
    }
    if (!guard.redactOutput) {
      return result;
    }
    String clean = guard.redact(text, TenantConfig.Direction.OUTPUT,
        (action, direction, rule) -> decided(call, action, direction, rule));
    if (clean.equals(text)) {
      return result;
    }
    ChatMessage m = result.message();
    return new ChatResult(new ChatMessage(m.role(), clean, m.name(), m.toolCalls(), m.toolCallId(), m.extra(),
        m.cacheControl()), result.finishReason(), result.usage());
  }

  /** Told to the call's usage row, and counted the first time the call makes it. */
  private void decided(UsageRecord.Call call, Action action, TenantConfig.Direction direction, String rule) {
    String decision = action.wireName() + ":" + direction.wireName() + ":" + rule;
    if (call.guardrail(decision)) {
      String tenant = call.context().tenantId();
      counters.computeIfAbsent(tenant + "\u0000" + decision, k -> Counter.builder("atrium.guardrail.decisions")
          .description("Guardrail decisions (once per call and decision): blocked or redacted, by rule and direction")
          .tags("tenant", tenant, "rule", rule, "action", action.wireName(), "direction", direction.wireName())
          .register(registry)).increment();
    }
  }

  static ApiError blockedInput(String code) {
    return ApiError.badRequest("content_blocked", "The request was blocked by this tenant's guardrail rule '" + code
        + "'.").withExtension("rule", code);
  }

  /** An answer that an output rule matched: 422 when it ends the call before any token (the request was well formed). */
  static ApiError blockedOutput(String code) {
    return new ApiError(StatusCodes.UNPROCESSABLE_ENTITY, "content_blocked",
        "The answer was blocked by this tenant's guardrail rule '" + code + "'.").withExtension("rule", code);
  }
}
