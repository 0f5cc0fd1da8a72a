package dev.atrium.gateway;

/** A whole answer: the upstream's message, why it stopped, and usage (null when the provider sent none). */
public record ChatResult(ChatMessage message, String finishReason, ChatEvent.Usage usage) {
  public String content() {
    return message.text();
  }
}
