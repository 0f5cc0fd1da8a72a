package dev.atrium.gateway.anthropic;

/**
 * Anthropic's {@code stop_reason} beside the canonical (OpenAI) finish reason, both ways:
 * the door tells an Anthropic client why an answer ended, the provider reading an Anthropic
 * upstream tells the gateway. {@code stop_sequence} and {@code pause_turn} have no canonical
 * twin: they read as {@code stop}, and a canonical {@code stop} is written {@code end_turn}.
 */
public final class AnthropicStopReasons {
  private AnthropicStopReasons() {}

  /** The {@code stop_reason} for a canonical finish reason; an unknown or absent one ended the turn. */
  public static String toAnthropic(String finishReason) {
    if (finishReason == null) {
      return "end_turn";
    }
    return switch (finishReason) {
      case "length" -> "max_tokens";
      case "tool_calls", "function_call" -> "tool_use";
      case "content_filter" -> "refusal";
      default -> "end_turn";
    };
  }

  /**
   * The canonical finish reason for an Anthropic {@code stop_reason}: {@code max_tokens} (and
   * a full context window) is {@code length}; a reason this gateway does not know is {@code stop}.
   */
  public static String toCanonical(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop";
    };
  }
}
