package dev.atrium.rag;

import dev.atrium.core.secrets.SecretException;
import dev.atrium.core.secrets.Secrets;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;

/** Each tenant's embedder: the in-process MiniLM by default, or one of its OpenAI-compatible providers. */
public final class Embedders {
  private final ActorSystem<?> system;
  private final TenantRegistry tenants;
  private final Function<String, Optional<String>> environment;
  private final MiniLmEmbedder local;
  private final Map<String, Embedder> byTenant = new ConcurrentHashMap<>();

  public Embedders(ActorSystem<?> system, TenantRegistry tenants) {
    this(system, tenants, name -> Optional.ofNullable(System.getenv(name)));
  }

  public Embedders(ActorSystem<?> system, TenantRegistry tenants, Function<String, Optional<String>> environment) {
    this.system = system;
    this.tenants = tenants;
    this.environment = environment;
    Executor executor = system.dispatchers().lookup(DispatcherSelector.fromConfig("atrium.rag.embedding-dispatcher"));
    this.local = new MiniLmEmbedder(executor);
  }

  public Embedder forTenant(String tenantId) {
    return byTenant.computeIfAbsent(tenantId, id -> {
      TenantConfig tenant = tenants.byId(id).orElseThrow();
      String name = tenant.documents().embedder();
      if (name.equals("local")) {
        return local;
      }
      TenantConfig.ProviderSettings provider = tenant.models().providers().get(name);
      return new OpenAiEmbedder(system, name, provider, tenant.documents().embeddingModel(),
          embedderKey(provider));
    });
  }

  /**
   * The embedder's key, read once when its embedder is made: from {@code api_key_env} or
   * {@code api_key_file} (an {@code api_key_secret} is the gateway's; embedders do not rotate
   * keys yet). An unreadable file leaves the calls without a key, as an unset variable does.
   */
  private Optional<String> embedderKey(TenantConfig.ProviderSettings provider) {
    return provider.apiKey().flatMap(ref -> {
      try {
        return Secrets.of(environment).read(ref);
      } catch (SecretException e) {
        return Optional.empty();
      }
    });
  }
}
