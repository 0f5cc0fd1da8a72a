package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;

/**
 * A kind of run a module offers (batch, ingest, ...): its input schema and limits, and the
 * steps a run of it takes. {@link #plan} must be a pure function of the input, so a run
 * that resumes after a restart finds the same steps with the same sub-steps.
 */
public interface RunType {
  String name();

  /** A JSON Schema (2020-12) the input must satisfy; violations are 400s naming the field. */
  String inputSchema();

  /** The largest input accepted, in bytes of JSON (413 above it). */
  int maxInputBytes();

  /** A run still unfinished this long after it started is failed by the supervisor. */
  Duration timeout();

  /** The ordered steps of a run with this input. */
  List<Step> plan(JsonNode input);
}
