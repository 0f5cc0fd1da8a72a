package dev.atrium.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Backoff;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.limits.Budgets;
import dev.atrium.core.secrets.SecretException;
import dev.atrium.core.secrets.Secrets;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantConfigException;
import dev.atrium.core.tenant.TenantRegistry;
import dev.atrium.gateway.anthropic.AnthropicProvider;
import dev.atrium.gateway.budget.BudgetGate;
import dev.atrium.gateway.byok.ProviderKey;
import dev.atrium.gateway.byok.ProviderKeys;
import dev.atrium.gateway.cache.ResponseCache;
import dev.atrium.gateway.guard.Guards;
import dev.atrium.gateway.usage.PriceTable;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.gateway.usage.UsageRecorder;
import dev.atrium.gateway.usage.UsageStatus;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * Routes a tenant's model name to providers: the model's own provider first, then its
 * fallbacks in order. Infrastructure failures before the first token are retried with
 * exponential backoff and jitter (the provider's {@code max_retries}), then handed to the
 * next fallback; business failures (4xx) are returned at once. Once tokens have reached
 * the client a failure ends the stream: nothing is replayed twice.
 */
public final class ModelGateway {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ModelGateway.class);
  /** Retries of one provider: 200 ms, doubling, with jitter. */
  static final Backoff BACKOFF = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10));

  private final ActorSystem<?> system;
  private final TenantRegistry tenants;
  private final Secrets secrets;
  private final Map<String, KeyedProvider> providers = new ConcurrentHashMap<>();
  private final UsageRecorder recorder;
  private final ProviderKeys providerKeys;
  private final BudgetGate budgets;
  private final Budgets rawBudgets;
  private final PriceTable prices;
  private final ResponseCache cache;
  private final Guards guards;

  /**
   * One step of a route: a provider and the upstream model name to ask it for; {@code byo}:
   * with the caller's own key (a provider instance of this call only).
   */
  public record Attempt(String model, String upstreamModel, ModelProvider provider, int maxRetries, boolean byo) {
    @Override
    public String toString() {
      return "Attempt[" + model + " via " + provider.label() + (byo ? ", caller's key" : "") + "]";
    }
  }

  /** A client's model name resolved for a tenant: what to call, in order. */
  public record Route(String model, List<Attempt> attempts) {
    /** The route starts with an attempt on the caller's own key. */
    public boolean byo() {
      return attempts.get(0).byo();
    }
  }

  /** A gateway that meters nothing: for tests that do not look at usage. */
  public ModelGateway(ActorSystem<?> system, TenantRegistry tenants) {
    this(system, tenants, UsageRecorder.NONE);
  }

  /** @param recorder where every call's usage goes (the node's {@code BatchedUsageRecorder}) */
  public ModelGateway(ActorSystem<?> system, TenantRegistry tenants, UsageRecorder recorder) {
    this(system, tenants, name -> Optional.ofNullable(System.getenv(name)), recorder);
  }

  /** @param environment where provider keys are looked up by variable name (tests pass their own) */
  public ModelGateway(ActorSystem<?> system, TenantRegistry tenants, Function<String, Optional<String>> environment,
      UsageRecorder recorder) {
    this(system, tenants, environment, recorder, Budgets.NONE, new PriceTable(Map.of()));
  }

  /**
   * @param budgets what every call of a budgeted tenant holds before it goes upstream and
   *     settles when its usage is recorded
   * @param prices what calls cost, for the budgets' estimates and settlements; a tenant
   *     with a spend cap routing to a model without a price stops the node here
   */
  public ModelGateway(ActorSystem<?> system, TenantRegistry tenants, Function<String, Optional<String>> environment,
      UsageRecorder recorder, Budgets budgets, PriceTable prices) {
    this(system, tenants, environment, recorder, budgets, prices, ResponseCache.OFF);
  }

  /** @param cache the response cache the metered calls go through first (the node's {@link ResponseCache#start}) */
  public ModelGateway(ActorSystem<?> system, TenantRegistry tenants, Function<String, Optional<String>> environment,
      UsageRecorder recorder, Budgets budgets, PriceTable prices, ResponseCache cache) {
    this(system, tenants, environment, recorder, budgets, prices, cache, new SimpleMeterRegistry());
  }

  /** @param registry where the guardrails count their decisions (the node's Prometheus registry) */
  public ModelGateway(ActorSystem<?> system, TenantRegistry tenants, Function<String, Optional<String>> environment,
      UsageRecorder recorder, Budgets budgets, PriceTable prices, ResponseCache cache, MeterRegistry registry) {
    this(system, tenants, Secrets.of(environment), recorder, budgets, prices, cache, registry);
  }

  /** The node's secrets cache (provider keys; the embedders look theirs up here too). */
  public Secrets secrets() {
    return secrets;
  }

  /**
   * @param secrets where provider keys are resolved ({@code api_key_env}, {@code api_key_file},
   *     {@code api_key_secret}), each cached for its TTL so a rotated key is used without a restart
   */
  public ModelGateway(ActorSystem<?> system, TenantRegistry tenants, Secrets secrets,
      UsageRecorder recorder, Budgets budgets, PriceTable prices, ResponseCache cache, MeterRegistry registry) {
    this.guards = new Guards(tenants, registry);
    this.cache = cache;
    this.system = system;
    this.tenants = tenants;
    this.secrets = secrets;
    this.providerKeys = ProviderKeys.fromConfig(system.settings().config().getConfig("atrium.byok"), tenants);
    this.rawBudgets = budgets;
    this.prices = prices;
    List<String> problems = problems(tenants);
    if (!problems.isEmpty()) {
      throw new TenantConfigException(problems);
    }
    this.budgets = new BudgetGate(budgets, tenants, prices);
    this.recorder = budgets == Budgets.NONE ? recorder : this.budgets.settling(recorder);
  }

  /**
   * What the gateway refuses in a set of tenants beyond the registry's own checks, the same
   * at start (the constructor throws them) and on a reload (which then changes nothing):
   * key families {@code atrium.byok} does not define, models without a price under a spend
   * cap, redactors no factory provides.
   */
  public List<String> problems(TenantRegistry candidate) {
    List<String> problems = new ArrayList<>();
    problems.addAll(providerKeys.problems(candidate));
    problems.addAll(BudgetGate.unpricedUnderSpendCap(candidate, rawBudgets, prices));
    problems.addAll(guards.problems(candidate));
    return problems;
  }

  /** The families of callers' provider keys, and how a request's key is read. */
  public ProviderKeys providerKeys() {
    return providerKeys;
  }

  /** Where the callers of the gateway meter the calls they end themselves (a chat turn, a run's prompt). */
  public UsageRecorder usage() {
    return recorder;
  }

  /**
   * Whether the calls of this tenant are screened by input guardrails before they go
   * upstream: a refusal is then a 400 before any token, so a streaming door waits for it.
   */
  public boolean screensInput(String tenantId) {
    return guards.screensInput(tenants.byId(tenantId).orElseThrow());
  }

  /**
   * Refuses {@code text} that the tenant's input blocklists block, before a door stores or
   * embeds it (a session's new message, a search query): a 400 {@code content_blocked}
   * naming the rule, metered as a refused call of {@code operation} (no tokens, status failed).
   */
  public void screen(UsageContext context, String operation, String model, String text) {
    TenantConfig tenant = tenants.byId(context.tenantId()).orElseThrow();
    if (!guards.screensInput(tenant)) {
      return;
    }
    Route route = resolve(tenant.id(), model).or(() -> resolve(tenant.id(), null)).orElseThrow();
    UsageRecord.Call call = UsageRecord.start(context, operation, route);
    try {
      guards.screen(tenant, call, text);
    } catch (ApiError blocked) {
      throw refused(call, blocked);
    }
  }

  /** A call the input guardrails refused: metered with its decision, no tokens; nothing went upstream. */
  private ApiError refused(UsageRecord.Call call, ApiError blocked) {
    recorder.record(call.end(UsageStatus.FAILED, new ChatEvent.Usage(0, 0), false));
    return blocked;
  }

  /** Whether the calls of this tenant hold budgets before they go upstream (a refusal is then a 429 before any token). */
  public boolean budgeted(String tenantId) {
    return budgets.applies(tenantId);
  }

  /**
   * A call that ended without the gateway making any attempt (the client left while its
   * budget was being asked): what it held is released; there is no usage to record.
   */
  public void abandoned(UsageRecord.Call call) {
    budgets.release(call);
  }

  /** Whether {@code task} is answered by a real model rather than the local responder. */
  public boolean hasModel(String tenantId, ModelTask task) {
    return resolve(tenantId, task, null).map(r -> !(r.attempts().get(0).provider() instanceof LocalProvider))
        .orElse(false);
  }

  /** The models a request of the tenant may name, sorted (what an unknown or disallowed model's error lists). */
  public List<String> models(String tenantId) {
    return tenants.byId(tenantId).map(t -> t.models().requestable()).orElse(List.of());
  }

  /**
   * The route for a model a request names ({@code model}; the tenant's default when null),
   * if the tenant has that model and lets requests name it ({@code models.allowed}).
   */
  public Optional<Route> resolve(String tenantId, String model) {
    TenantConfig tenant = tenants.byId(tenantId).orElseThrow();
    if (model == null || model.isBlank()) {
      return Optional.of(route(tenant, tenant.models().defaultModel()));
    }
    return tenant.models().allows(model) ? Optional.of(route(tenant, model)) : Optional.empty();
  }

  /**
   * The route of a call made for {@code task}: the model the request names, if it may name
   * it (empty otherwise), else the model the tenant pins for the task ({@code models.tasks}),
   * else its default model.
   */
  public Optional<Route> resolve(String tenantId, ModelTask task, String requested) {
    if (requested != null && !requested.isBlank()) {
      return resolve(tenantId, requested);
    }
    TenantConfig tenant = tenants.byId(tenantId).orElseThrow();
    return Optional.of(route(tenant, tenant.models().modelFor(task)));
  }

  /** A configured model's route: its provider, then its fallbacks in order. */
  private Route route(TenantConfig tenant, String name) {
    List<Attempt> attempts = new ArrayList<>();
    List<String> chain = new ArrayList<>();
    chain.add(name);
    chain.addAll(tenant.models().models().get(name).fallbacks());
    for (String step : chain) {
      TenantConfig.ModelRoute route = tenant.models().models().get(step);
      TenantConfig.ProviderSettings settings = tenant.models().providers().get(route.provider());
      attempts.add(new Attempt(step, route.upstreamModel() == null ? step : route.upstreamModel(),
          provider(tenant, route.provider(), settings), settings.maxRetries(), false));
    }
    return new Route(name, List.copyOf(attempts));
  }

  /**
   * The route for {@code model} with the caller's own provider key, when there is one: first
   * the route's first step on the provider the tenant sends keys of that family to
   * ({@code byok.providers}), with the caller's key and no retry of its own; then the
   * tenant's route as it is, which the call falls back to when that step fails with a 5xx
   * or a timeout before the first token. A 4xx for the caller's key is the caller's answer.
   * A model none of whose steps is on that provider is a 400 {@code byok_no_provider}.
   */
  public Optional<Route> resolve(String tenantId, String model, Optional<ProviderKey> key) {
    return withCallerKey(tenantId, resolve(tenantId, model), key);
  }

  /** {@link #resolve(String, ModelTask, String)} with the caller's own provider key, as {@link #resolve(String, String, Optional)}. */
  public Optional<Route> resolve(String tenantId, ModelTask task, String requested, Optional<ProviderKey> key) {
    return withCallerKey(tenantId, resolve(tenantId, task, requested), key);
  }

  private Optional<Route> withCallerKey(String tenantId, Optional<Route> route, Optional<ProviderKey> key) {
    if (key.isEmpty() || route.isEmpty()) {
      return route;
    }
    TenantConfig tenant = tenants.byId(tenantId).orElseThrow();
    String providerName = tenant.byok().providers().get(key.get().family());
    ModelProvider target = provider(tenant, providerName, tenant.models().providers().get(providerName));
    Attempt step = route.get().attempts().stream().filter(a -> a.provider() == target).findFirst()
        .orElseThrow(() -> ApiError.badRequest("byok_no_provider", "The model '" + route.get().model()
            + "' is not served by the provider this tenant sends " + key.get().family() + " keys to.")
            .withExtension("header", key.get().header()));
    List<Attempt> attempts = new ArrayList<>();
    attempts.add(new Attempt(step.model(), step.upstreamModel(), target.withCallerKey(key.get()), 0,
        true));
    attempts.addAll(route.get().attempts());
    return Optional.of(new Route(route.get().model(), List.copyOf(attempts)));
  }

  /**
   * The provider with its key as the secrets' cache has it now: the instance is kept while
   * the key is the same and rebuilt when it changed (a rotated file or secret, at most one
   * TTL after the rotation), so calls already streaming keep the key they started with.
   */
  private ModelProvider provider(TenantConfig tenant, String name, TenantConfig.ProviderSettings settings) {
    Optional<String> apiKey = settings.apiKey().flatMap(ref -> {
      try {
        return secrets.resolve(ref);
      } catch (SecretException e) {
        // As an unset variable: the call goes without a key and the provider refuses it;
        // the next lookup tries again. The message names the place, never a value.
        log.warn("No key for provider {} of tenant {}: {}", name, tenant.id(), e.getMessage());
        return Optional.empty();
      }
    });
    String id = tenant.id() + "/" + name;
    KeyedProvider held = providers.get(id);
    if (held != null && held.key().equals(apiKey) && held.settings().equals(settings)) {
      return held.provider();
    }
    // A reload that changed the provider's settings (base URL, timeouts, key source) builds it again.
    return providers.compute(id, (key, current) ->
        current != null && current.key().equals(apiKey) && current.settings().equals(settings) ? current
            : new KeyedProvider(settings, apiKey,
            switch (settings.type()) {
              case LOCAL -> new LocalProvider(tenant.id());
              case OPENAI -> new OpenAiProvider(system, name, settings, apiKey);
              case ANTHROPIC -> new AnthropicProvider(system, name, settings, apiKey);
            })).provider();
  }

  /** A provider and the settings and key it was built with; {@link #toString()} shows no key. */
  private record KeyedProvider(TenantConfig.ProviderSettings settings, Optional<String> key, ModelProvider provider) {
    @Override
    public String toString() {
      return "KeyedProvider[" + provider.label() + "]";
    }
  }

  /**
   * Streams an answer from retrieved passages along the route for a metered {@code call},
   * which is told each attempt as it is made, so it is metered for the provider and model
   * that answered (a fallback's). Retries and fallbacks happen only while nothing has been
   * emitted; the events then flow through without a substream or any other asynchronous
   * boundary of the gateway's own. The response cache comes first: a hit is replayed, and
   * neither budgets nor providers are asked. The tenant's guardrails come before all of
   * it (the messages as redacted are what is cached, budgeted and sent; a blocked input
   * fails the stream with 400 {@code content_blocked} and goes nowhere) and after it (the
   * answer, a cache hit's too, streams through the output guardrails).
   */
  public Source<ChatEvent, NotUsed> stream(Route route, List<ChatMessage> messages, ObjectNode options,
      List<Passage> passages, UsageRecord.Call call) {
    TenantConfig tenant = tenants.byId(call.context().tenantId()).orElseThrow();
    List<ChatMessage> sent;
    try {
      sent = guards.input(tenant, call, messages);
    } catch (ApiError blocked) {
      return Source.failed(refused(call, blocked));
    }
    Source<ChatEvent, NotUsed> answer = cache.stream(route, new ChatRequest(route.model(), sent, options, passages),
        call, () -> upstream(route, sent, options, passages, call));
    Flow<ChatEvent, ChatEvent, NotUsed> output = guards.output(tenant, call);
    return output == null ? answer : answer.via(output);
  }

  /** A cache miss's stream: its budgets held (when the tenant has any), then the route's attempts. */
  private Source<ChatEvent, NotUsed> upstream(Route route, List<ChatMessage> messages, ObjectNode options,
      List<Passage> passages, UsageRecord.Call call) {
    if (!budgets.applies(call.context().tenantId())) {
      return attempt(route.attempts(), 0, 0, messages, options, passages, call::servedBy);
    }
    // Budgeted: the estimate is held when the stream is materialised, before anything goes upstream.
    return Source.lazyCompletionStageSource(() -> budgets.admit(route, messages, passages, options, call)
            .thenApply(admitted -> attempt(admitted.route().attempts(), 0, 0, messages, admitted.options(), passages,
                call::servedBy)))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  private Source<ChatEvent, NotUsed> attempt(List<Attempt> attempts, int index, int retry, List<ChatMessage> messages,
      ObjectNode options, List<Passage> passages, Consumer<Attempt> served) {
    Attempt attempt = attempts.get(index);
    // Told when this attempt's stream is materialised (a retry or fallback is materialised when it takes over).
    Source<ChatEvent, NotUsed> events = attempt.provider()
        .stream(new ChatRequest(attempt.upstreamModel(), messages, options, passages))
        .mapMaterializedValue(m -> {
          served.accept(attempt);
          return m;
        });
    boolean canRetry = retry < attempt.maxRetries();
    if (!canRetry && index + 1 >= attempts.size()) {
      return events;
    }
    return events
        .via(new LateFailures())
        .recoverWithRetries(1, new PFBuilder<Throwable, org.apache.pekko.stream.Graph<
                org.apache.pekko.stream.SourceShape<ChatEvent>, NotUsed>>()
            .match(ProviderException.class, ProviderException::retryable,
                e -> canRetry
                    ? Source.single(NotUsed.getInstance()).initialDelay(BACKOFF.delay(retry + 1))
                        .flatMapConcat(x -> attempt(attempts, index, retry + 1, messages, options, passages, served))
                    : attempt(attempts, index + 1, 0, messages, options, passages, served))
            .build())
        .mapError(new PFBuilder<Throwable, Throwable>().match(Late.class, Throwable::getCause).build());
  }

  /** A failure after events had gone downstream: not to be retried, whatever it is. */
  private static final class Late extends RuntimeException {
    Late(Throwable cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }

  /**
   * Passes events through and marks a failure that comes after the first of them as
   * {@link Late}; its state is its own materialisation's, which a closure over the source
   * could not give without a substream.
   */
  private static final class LateFailures extends GraphStage<FlowShape<ChatEvent, ChatEvent>> {
    private final Inlet<ChatEvent> in = Inlet.create("LateFailures.in");
    private final Outlet<ChatEvent> out = Outlet.create("LateFailures.out");
    private final FlowShape<ChatEvent, ChatEvent> shape = FlowShape.of(in, out);

    @Override
    public FlowShape<ChatEvent, ChatEvent> shape() {
      return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new GraphStageLogic(shape) {
        private boolean emitted;

        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              emitted = true;
              push(out, grab(in));
            }

            @Override
            public void onUpstreamFailure(Throwable error) {
              failStage(emitted ? new Late(error) : error);
            }
          });
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {
              pull(in);
            }
          });
        }
      };
    }
  }

  /**
   * The whole answer from retrieved passages for a metered {@code call}, which is told each
   * attempt as it is made; from the response cache on a hit. The guardrails apply as to
   * {@link #stream}, the output ones to the whole text.
   */
  public CompletionStage<ChatResult> complete(Route route, List<ChatMessage> messages, ObjectNode options,
      List<Passage> passages, UsageRecord.Call call) {
    TenantConfig tenant = tenants.byId(call.context().tenantId()).orElseThrow();
    List<ChatMessage> sent;
    try {
      sent = guards.input(tenant, call, messages);
    } catch (ApiError blocked) {
      return CompletableFuture.failedFuture(refused(call, blocked));
    }
    return cache.complete(route, new ChatRequest(route.model(), sent, options, passages), call,
            () -> upstreamWhole(route, sent, options, passages, call))
        .thenApply(result -> guards.output(tenant, call, result));
  }

  /** A cache miss's whole answer: its budgets held (when the tenant has any), then the route's attempts. */
  private CompletionStage<ChatResult> upstreamWhole(Route route, List<ChatMessage> messages, ObjectNode options,
      List<Passage> passages, UsageRecord.Call call) {
    if (!budgets.applies(call.context().tenantId())) {
      return complete(route.attempts(), 0, 0, messages, options, passages, call::servedBy);
    }
    return budgets.admit(route, messages, passages, options, call).thenCompose(admitted ->
        complete(admitted.route().attempts(), 0, 0, messages, admitted.options(), passages, call::servedBy));
  }

  /**
   * The whole answer from retrieved passages along the route, metered as {@code operation}
   * for {@code context} when it ends: the provider's usage, else counted (the prompt, and
   * the answer when there is one).
   */
  public CompletionStage<ChatResult> complete(Route route, List<ChatMessage> messages, ObjectNode options,
      List<Passage> passages, UsageContext context, String operation) {
    UsageRecord.Call call = UsageRecord.start(context, operation, route);
    return complete(route, messages, options, passages, call).whenComplete((result, error) -> {
      if (call.attempted()) {
        recorder.record(error == null
            ? call.end(UsageStatus.OK, result.usage(), messages, result.content())
            : call.end(UsageStatus.of(error), null, messages, ""));
      }
    });
  }

  private CompletionStage<ChatResult> complete(List<Attempt> attempts, int index, int retry,
      List<ChatMessage> messages, ObjectNode options, List<Passage> passages, Consumer<Attempt> served) {
    Attempt attempt = attempts.get(index);
    served.accept(attempt);
    return attempt.provider().complete(new ChatRequest(attempt.upstreamModel(), messages, options, passages))
        .handle((result, error) -> {
          if (error == null) {
            return CompletableFuture.completedFuture(result);
          }
          ProviderException failure = ProviderHttp.asProviderException(error);
          if (failure.retryable() && retry < attempt.maxRetries()) {
            return Patterns.after(BACKOFF.delay(retry + 1), Adapter.toClassic(system).scheduler(), system.executionContext(),
                () -> complete(attempts, index, retry + 1, messages, options, passages, served));
          }
          if (failure.retryable() && index + 1 < attempts.size()) {
            return complete(attempts, index + 1, 0, messages, options, passages, served);
          }
          return CompletableFuture.<ChatResult>failedFuture(failure);
        })
        .thenCompose(Function.identity());
  }
}
