package dev.atrium.gateway.anthropic;

/**
 * Anthropic's {@code stop_reason} beside the canonical (OpenAI) finish reason, both ways:
 * the door tells an Anthropic client why an answer ended, a provider reading an Anthropic
 * upstream tells the gateway. {@code stop_sequence} has no canonical twin: it reads as
 * {@code stop}, and a canonical {@code stop} is written {@code end_turn}.
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

  /** The canonical finish reason for an Anthropic {@code stop_reason}. */
  public static String toCanonical(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop";
    };
  }
}
