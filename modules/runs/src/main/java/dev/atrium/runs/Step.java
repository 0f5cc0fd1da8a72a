package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Backoff;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.Tier;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.stream.SharedKillSwitch;

/**
 * One named step of a run. A step fans out into sub-steps (one for a plain step); the Run
 * entity runs at most {@code max_concurrency} of them at once, persists each result as it
 * arrives, and persists the step's aggregate before the next step starts, so a resumed run
 * never repeats a finished sub-step.
 *
 * @param subSteps the keys of the sub-steps, stable for a given input
 * @param work what one sub-step does
 * @param retry how infrastructure failures are retried (business failures never are)
 * @param aggregate the step's result from its sub-steps' results and failures
 * @param failRunOnSubStepFailure whether one failed sub-step fails the whole run
 */
public record Step(String name, List<String> subSteps, Work work, RetryPolicy retry,
    Aggregate aggregate, boolean failRunOnSubStepFailure) {

  public Step {
    subSteps = List.copyOf(subSteps);
    if (subSteps.isEmpty()) {
      throw new IllegalArgumentException("a step needs at least one sub-step");
    }
  }

  /**
   * What a sub-step gets to work with: the run, its owner and the account and tier it was
   * created with (null tier: a run older than that record), the step's name and the
   * sub-step's key, ...
   */
  public record Context(String runId, String tenantId, Owner owner, String accountId, Tier tier, String step, String key, int attempt,
      JsonNode input, Map<String, JsonNode> previousSteps, int maxConcurrency, SharedKillSwitch killSwitch) {}

  @FunctionalInterface
  public interface Work {
    /** The sub-step's result; a failure is a {@link RunFailure} or any infrastructure exception. */
    CompletionStage<JsonNode> run(Context context);
  }

  @FunctionalInterface
  public interface Aggregate {
    JsonNode apply(Map<String, JsonNode> results, Map<String, String> failures);
  }

  /** Attempts include the first one; backoff doubles from {@code base} up to {@code max}, with jitter ({@link Backoff}). */
  public record RetryPolicy(int maxAttempts, Duration base, Duration max) {
    public static final RetryPolicy NONE = new RetryPolicy(1, Duration.ZERO, Duration.ZERO);

    /** The wait after failed attempt number {@code failedAttempt} (1 for the first). */
    public Duration backoff(int failedAttempt) {
      return new Backoff(base, max).delay(failedAttempt);
    }
  }
}
