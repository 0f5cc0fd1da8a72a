package dev.atrium.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * One call to a model.
 *
 * @param model the upstream model name
 * @param messages the conversation, written to the provider's format by the provider
 * @param options standard request fields passed through (temperature, top_p, max_tokens,
 *     max_completion_tokens, stop, seed, response_format, tools, tool_choice)
 * @param passages retrieved passages the answer should come from: a real model gets them
 *     as a numbered system message ({@link Passage#prompt}), the local provider answers
 *     from them directly; they travel only here, never inside the messages
 */
public record ChatRequest(String model, List<ChatMessage> messages, ObjectNode options, List<Passage> passages) {
  public ChatRequest {
    messages = List.copyOf(messages);
    passages = passages == null ? List.of() : List.copyOf(passages);
  }

  public ChatRequest(String model, List<ChatMessage> messages, ObjectNode options) {
    this(model, messages, options, List.of());
  }

  /**
   * The messages a model is sent: with passages, their numbered system message goes after
   * the conversation's own leading system message (or first).
   */
  public List<ChatMessage> promptMessages() {
    if (passages.isEmpty()) {
      return messages;
    }
    List<ChatMessage> out = new java.util.ArrayList<>(messages.size() + 1);
    out.addAll(messages);
    int at = !messages.isEmpty() && "system".equals(messages.get(0).role()) ? 1 : 0;
    out.add(at, ChatMessage.system(Passage.prompt(passages)));
    return out;
  }
}
