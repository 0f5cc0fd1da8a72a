package dev.atrium.runs;

import java.util.LinkedHashMap;
import java.util.Map;

/** A run as clients see it (snake_case JSON). */
final class RunJson {
  private RunJson() {}

  static Map<String, Object> view(RunView v) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("run_id", v.runId());
    json.put("type", v.type());
    json.put("status", v.status());
    json.put("progress", v.progress());
    json.put("step", v.step());
    json.put("message", v.message());
    json.put("attempts", v.attempts());
    json.put("created_at", v.createdAt());
    json.put("started_at", v.startedAt());
    json.put("ended_at", v.endedAt());
    json.put("deadline_at", v.deadlineAt());
    json.put("steps", v.steps().stream().map(s -> {
      Map<String, Object> step = new LinkedHashMap<>();
      step.put("name", s.name());
      step.put("completed", s.completed());
      step.put("done", s.done());
      step.put("failed", s.failed());
      step.put("total", s.total());
      return step;
    }).toList());
    json.put("result", v.result());
    json.put("error", v.error());
    return json;
  }
}
