package dev.atrium.gateway;

import java.util.List;
import org.apache.pekko.util.ByteString;

/**
 * What a model stream yields: pieces of the answer, token usage, and how it finished. Each
 * event carries the fields read from the upstream's chunk and, for a delta, the upstream's
 * own bytes, so whoever renders, caches, records or meters an answer never parses a chunk
 * again.
 */
public sealed interface ChatEvent permits ChatEvent.Delta, ChatEvent.Usage, ChatEvent.Finish {

  /**
   * A piece of the answer. {@code content} is its text ("" when it has none, as in a
   * tool-call delta); {@code toolCalls} the tool-call fragments it carries, in order.
   * {@code raw} is the upstream's {@code delta} object as it came, but for its {@code role}
   * member (the OpenAI door sends a role chunk of its own): the door splices these bytes
   * into its own chunk unchanged. Null when the provider is not an OpenAI upstream; the
   * door then writes {@code {"content": ...}} itself.
   */
  record Delta(String content, List<ToolCallDelta> toolCalls, ByteString raw) implements ChatEvent {
    public Delta {
      toolCalls = List.copyOf(toolCalls);
    }

    /** A piece of text with no upstream bytes (the local responder, a replay). */
    public static Delta text(String content) {
      return new Delta(content, List.of(), null);
    }
  }

  /**
   * One fragment of a streamed tool call, as OpenAI streams them: the first fragment of call
   * {@code index} has its {@code id}, {@code type} and function {@code name}, later ones add
   * to its {@code arguments}; absent members are null.
   */
  record ToolCallDelta(int index, String id, String type, String name, String arguments) {}

  /**
   * Tokens as the provider counted them. {@code promptTokens} is the whole prompt, however
   * the provider served it; {@code cachedPromptTokens} the part of it the provider read from
   * its prompt cache ({@code prompt_tokens_details.cached_tokens}, Anthropic's
   * {@code cache_read_input_tokens}), {@code cacheWritePromptTokens} the part it wrote to its
   * cache (Anthropic's {@code cache_creation_input_tokens}, priced apart; OpenAI has none);
   * each 0 when the provider says nothing. (Response-cache rows written before the last
   * existed read it as 0.)
   */
  record Usage(int promptTokens, int completionTokens, int cachedPromptTokens, int cacheWritePromptTokens)
      implements ChatEvent {
    public Usage(int promptTokens, int completionTokens) {
      this(promptTokens, completionTokens, 0, 0);
    }

    public Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
      this(promptTokens, completionTokens, cachedPromptTokens, 0);
    }
  }

  /** The model finished normally ("stop", "length", "tool_calls", ...). */
  record Finish(String reason) implements ChatEvent {}
}
