package dev.atrium.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * One call to a model.
 *
 * @param model the upstream model name
 * @param messages OpenAI-shaped message objects ({@code role}, {@code content}, and for
 *     tool use {@code tool_calls} / {@code tool_call_id}), passed upstream as they are
 * @param options standard request fields passed through (temperature, top_p, max_tokens,
 *     max_completion_tokens, stop, seed, response_format, tools, tool_choice)
 * @param passages retrieved passages the answer should come from (already in the messages
 *     for a real model; the local provider answers from them directly)
 */
public record ChatRequest(String model, List<ObjectNode> messages, ObjectNode options, List<Passage> passages) {
  public ChatRequest {
    messages = List.copyOf(messages);
    passages = passages == null ? List.of() : List.copyOf(passages);
  }

  public ChatRequest(String model, List<ObjectNode> messages, ObjectNode options) {
    this(model, messages, options, List.of());
  }
}
