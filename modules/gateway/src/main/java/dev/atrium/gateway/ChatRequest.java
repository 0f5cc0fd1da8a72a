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
 */
public record ChatRequest(String model, List<ObjectNode> messages, ObjectNode options) {
  public ChatRequest {
    messages = List.copyOf(messages);
  }
}
