package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.JsonSerializable;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.Tier;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A run's state: what it is (type, input, tenant), where it is (status, step, sub-step
 * results, attempts) and how it ended. Immutable; every change returns a new state.
 */
public record RunState(
    Optional<Spec> spec,
    Status status,
    List<StepRecord> steps,
    Map<String, Integer> attempts,
    int progress,
    String message,
    boolean cancelRequested,
    Instant startedAt,
    Instant endedAt,
    JsonNode result,
    String error,
    long seq) implements JsonSerializable {

  public enum Status {
    NEW, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    public boolean terminal() {
      return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    public String wire() {
      return name().toLowerCase();
    }
  }

  /**
   * What was asked for, and by whom: its owner (the user, else the key), and the account and
   * tier the owner had when it asked, which its model calls are metered with (null in runs
   * created before they were recorded: {@link RunUsage} looks the key up).
   */
  public record Spec(String tenantId, Owner owner, String accountId, Tier tier, String type, JsonNode input, int maxConcurrency,
      Instant createdAt, Instant deadlineAt, List<String> stepNames, List<Integer> subStepCounts)
      implements JsonSerializable {}

  /** One step's progress: results and failures of its sub-steps, and its aggregate once complete. */
  public record StepRecord(String name, Map<String, JsonNode> results, Map<String, String> failures, JsonNode result,
      boolean completed) implements JsonSerializable {
    public StepRecord {
      results = Map.copyOf(results);
      failures = Map.copyOf(failures);
    }

    boolean resolved(String key) {
      return results.containsKey(key) || failures.containsKey(key);
    }
  }

  static final RunState EMPTY = new RunState(Optional.empty(), Status.NEW, List.of(), Map.of(), 0, null, false, null,
      null, null, null, 0);

  public RunState {
    steps = List.copyOf(steps);
    attempts = Map.copyOf(attempts);
  }

  private RunState with(Status status, List<StepRecord> steps, Map<String, Integer> attempts, int progress,
      String message, boolean cancelRequested, Instant startedAt, Instant endedAt, JsonNode result, String error) {
    return new RunState(spec, status, steps, attempts, progress, message, cancelRequested, startedAt, endedAt, result,
        error, seq + 1);
  }

  RunState created(Spec spec) {
    List<StepRecord> records = new ArrayList<>();
    for (String name : spec.stepNames()) {
      records.add(new StepRecord(name, Map.of(), Map.of(), null, false));
    }
    return new RunState(Optional.of(spec), Status.QUEUED, records, Map.of(), 0, "queued", false, null, null, null, null,
        seq + 1);
  }

  RunState started(Instant at) {
    return with(Status.RUNNING, steps, attempts, progress, "running", cancelRequested, at, endedAt, result, error);
  }

  /** The first step not yet complete, or -1 when all are. */
  int currentStep() {
    for (int i = 0; i < steps.size(); i++) {
      if (!steps.get(i).completed()) {
        return i;
      }
    }
    return -1;
  }

  RunState subStepResolved(int step, String key, JsonNode value, String failure) {
    List<StepRecord> next = new ArrayList<>(steps);
    StepRecord record = steps.get(step);
    Map<String, JsonNode> results = new HashMap<>(record.results());
    Map<String, String> failures = new HashMap<>(record.failures());
    if (failure == null) {
      results.put(key, value);
    } else {
      failures.put(key, failure);
    }
    next.set(step, new StepRecord(record.name(), results, failures, null, false));
    String message = record.name() + ": " + (results.size() + failures.size()) + " of "
        + spec.orElseThrow().subStepCounts().get(step) + " done";
    return with(status, next, attempts, progressOf(next), message, cancelRequested, startedAt, endedAt, result, error);
  }

  RunState attemptFailed(int step, String key, int attempt, String failure) {
    Map<String, Integer> next = new HashMap<>(attempts);
    next.put(step + "/" + key, attempt);
    return with(status, steps, next, progress, steps.get(step).name() + ": retrying " + key + " after: " + failure,
        cancelRequested, startedAt, endedAt, result, error);
  }

  RunState stepCompleted(int step, JsonNode aggregate) {
    List<StepRecord> next = new ArrayList<>(steps);
    StepRecord record = steps.get(step);
    next.set(step, new StepRecord(record.name(), record.results(), record.failures(), aggregate, true));
    return with(status, next, attempts, progressOf(next), record.name() + ": complete", cancelRequested, startedAt,
        endedAt, result, error);
  }

  RunState withCancelRequest() {
    return with(status, steps, attempts, progress, "cancelling", true, startedAt, endedAt, result, error);
  }

  RunState ended(Status status, Instant at, JsonNode result, String error) {
    int finalProgress = status == Status.SUCCEEDED ? 100 : progress;
    return with(status, steps, attempts, finalProgress, status.wire(), cancelRequested, startedAt, at, result, error);
  }

  int attempts(int step, String key) {
    return attempts.getOrDefault(step + "/" + key, 0);
  }

  /** Whole steps done plus the resolved share of the current one, over all steps, 0-100. */
  private int progressOf(List<StepRecord> records) {
    List<Integer> counts = spec.orElseThrow().subStepCounts();
    double done = 0;
    for (int i = 0; i < records.size(); i++) {
      StepRecord r = records.get(i);
      done += r.completed() ? 1.0 : (double) (r.results().size() + r.failures().size()) / counts.get(i);
    }
    return (int) Math.floor(100.0 * done / records.size());
  }

  Map<String, JsonNode> completedStepResults() {
    Map<String, JsonNode> out = new HashMap<>();
    steps.stream().filter(StepRecord::completed).forEach(s -> out.put(s.name(), s.result()));
    return out;
  }

  int totalAttempts() {
    return attempts.values().stream().mapToInt(Integer::intValue).sum();
  }
}
