package dev.atrium.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** What a model stream yields: text deltas, token usage, and how it finished. */
public sealed interface ChatEvent permits ChatEvent.Delta, ChatEvent.Usage, ChatEvent.Finish {

  /**
   * A piece of the answer. {@code raw} is the upstream's delta object as it came (role,
   * content, tool_calls...), kept so the OpenAI-compatible route can pass it on unchanged.
   */
  record Delta(String content, ObjectNode raw) implements ChatEvent {}

  record Usage(int promptTokens, int completionTokens) implements ChatEvent {}

  /** The model finished normally ("stop", "length", "tool_calls", ...). */
  record Finish(String reason) implements ChatEvent {}
}
