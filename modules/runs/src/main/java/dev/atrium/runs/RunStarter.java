package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.TenantRegistry;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * How another module starts a run of one of its types (an upload's ingest run, say). It can
 * be made before the runs module starts, so a module gets it with its other dependencies;
 * a run can be started once the runs module runs.
 */
@FunctionalInterface
public interface RunStarter {

  /**
   * A new run of {@code type} on behalf of {@code principal} (owned by its user, else its
   * key; metered with its account and tier): the run as created (queued). Fails with an
   * {@code ApiError}, a 503 when the run did not answer in time.
   */
  CompletionStage<RunView> start(Principal principal, String type, JsonNode input);

  /** Starts runs through cluster sharding, with the tenant's {@code runs.max_concurrency}. */
  static RunStarter of(ActorSystem<?> system, TenantRegistry tenants) {
    RunClient runs = new RunClient(system, tenants);
    return (principal, type, input) -> runs.create(UUID.randomUUID().toString(), principal, type, input);
  }
}
