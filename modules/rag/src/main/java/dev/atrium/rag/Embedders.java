package dev.atrium.rag;

import dev.atrium.core.secrets.SecretException;
import dev.atrium.core.secrets.SecretRef;
import dev.atrium.core.secrets.Secrets;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;

/** Each tenant's embedder: the in-process MiniLM by default, or one of its OpenAI-compatible providers. */
public final class Embedders {
  private final ActorSystem<?> system;
  private final TenantRegistry tenants;
  private final Secrets secrets;
  private final MiniLmEmbedder local;
  private final Map<String, Built> byTenant = new ConcurrentHashMap<>();

  public Embedders(ActorSystem<?> system, TenantRegistry tenants) {
    this(system, tenants, name -> Optional.ofNullable(System.getenv(name)));
  }

  public Embedders(ActorSystem<?> system, TenantRegistry tenants, Function<String, Optional<String>> environment) {
    this(system, tenants, Secrets.of(environment));
  }

  /** @param secrets where embedder keys are looked up per call (the node's cache, shared with the gateway) */
  public Embedders(ActorSystem<?> system, TenantRegistry tenants, Secrets secrets) {
    this.system = system;
    this.tenants = tenants;
    this.secrets = secrets;
    Executor executor = system.dispatchers().lookup(DispatcherSelector.fromConfig("atrium.rag.embedding-dispatcher"));
    this.local = new MiniLmEmbedder(executor);
  }

  public Embedder forTenant(String tenantId) {
    TenantConfig tenant = tenants.byId(tenantId).orElseThrow();
    String name = tenant.documents().embedder();
    if (name.equals("local")) {
      return local;
    }
    Source source = new Source(tenant.models().providers().get(name), tenant.documents().embeddingModel());
    Built held = byTenant.get(tenantId);
    if (held != null && held.source().equals(source)) {
      return held.embedder();
    }
    // First use, or a reload changed the embedder's provider or model: made again.
    return byTenant.compute(tenantId, (id, old) -> old != null && old.source().equals(source) ? old
        : new Built(source, new OpenAiEmbedder(system, name, source.provider(), source.model(),
            embedderKey(source.provider())))).embedder();
  }

  /** What a remote embedder is made from. */
  private record Source(TenantConfig.ProviderSettings provider, String model) {}

  private record Built(Source source, Embedder embedder) {}

  /**
   * The embedder's key as the secrets' cache has it at each call ({@code api_key_env},
   * {@code api_key_file} or {@code api_key_secret}, as the gateway's providers do): a rotated
   * file or Secrets Manager key is used within the TTL. An unset one sends no key; one that
   * cannot be read fails the call ({@link SecretException}).
   */
  private Supplier<Optional<String>> embedderKey(TenantConfig.ProviderSettings provider) {
    Optional<SecretRef> ref = provider.apiKey();
    return () -> ref.flatMap(secrets::resolve);
  }
}
