package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.http.Replies;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.TenantRegistry;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * Asks Run entities on behalf of the run routes and of other modules: the run as it is now,
 * or the rejection as its HTTP error (404, 409), a 503 when the run did not answer in time.
 * The entity is looked up at each call, so this works before the runs module has started.
 */
final class RunClient {
  private final ActorSystem<?> system;
  private final TenantRegistry tenants;
  private final Duration askTimeout;

  RunClient(ActorSystem<?> system, TenantRegistry tenants) {
    this.system = system;
    this.tenants = tenants;
    this.askTimeout = system.settings().config().getDuration("atrium.http.ask-timeout");
  }

  /**
   * Creates run {@code runId} owned by {@code principal} (its user, else its key; never an
   * anonymous one), with its account and tier, or answers it as it is when the same request
   * created it before.
   */
  CompletionStage<RunView> create(String runId, Principal principal, String type, JsonNode input) {
    Caller caller = Caller.of(principal).orElseThrow(() -> new IllegalArgumentException("an anonymous caller owns no run"));
    int concurrency = tenants.byId(principal.tenantId()).orElseThrow().runs().maxConcurrency();
    return ask(runId, r -> new Run.Create(caller, principal.accountId().orElse(null), principal.tier(), type, input,
        concurrency, r));
  }

  CompletionStage<RunView> get(Caller caller, String runId) {
    return ask(runId, r -> new Run.Get(caller, r));
  }

  CompletionStage<RunView> cancel(Caller caller, String runId) {
    return ask(runId, r -> new Run.Cancel(caller, r));
  }

  private CompletionStage<RunView> ask(String runId, Function<ActorRef<Reply<RunView>>, Run.Command> command) {
    return Replies.ask(ClusterSharding.get(system).entityRefFor(Run.ENTITY_KEY, runId), command, askTimeout, "run");
  }
}
