package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.JsonSerializable;
import java.time.Instant;
import java.util.List;

/** A run as clients see it. {@code seq} grows with every change (the SSE stream emits on change). */
public record RunView(String runId, String tenantId, String type, String status, int progress, String step,
    String message, int attempts, Instant createdAt, Instant startedAt, Instant endedAt, Instant deadlineAt,
    JsonNode result, String error, List<StepView> steps, long seq) implements JsonSerializable {

  public record StepView(String name, boolean completed, int done, int failed, int total) implements JsonSerializable {}

  static RunView of(String runId, RunState s) {
    RunState.Spec spec = s.spec().orElseThrow();
    int current = s.currentStep();
    String step = current >= 0 ? spec.stepNames().get(current) : null;
    List<StepView> steps = new java.util.ArrayList<>();
    for (int i = 0; i < s.steps().size(); i++) {
      RunState.StepRecord r = s.steps().get(i);
      steps.add(new StepView(r.name(), r.completed(), r.results().size(), r.failures().size(),
          spec.subStepCounts().get(i)));
    }
    return new RunView(runId, spec.tenantId(), spec.type(), s.status().wire(), s.progress(),
        s.status().terminal() ? null : step, s.message(), s.totalAttempts(), spec.createdAt(), s.startedAt(),
        s.endedAt(), spec.deadlineAt(), s.result(), s.error(), List.copyOf(steps), s.seq());
  }

  public boolean terminal() {
    return status.equals("succeeded") || status.equals("failed") || status.equals("cancelled");
  }
}
