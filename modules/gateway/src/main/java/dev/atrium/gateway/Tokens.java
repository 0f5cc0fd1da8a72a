package dev.atrium.gateway;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.List;

/**
 * Token counts with OpenAI's cl100k_base encoding (jtokkit). Other models' tokenizers
 * differ by a few percent; the counts size context windows and report usage for the
 * local model, upstream usage figures win where a provider reports them.
 */
public final class Tokens {
  private static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  /** OpenAI's documented per-message overhead for chat formatting. */
  private static final int PER_MESSAGE = 3;
  private static final int PER_REPLY = 3;

  private Tokens() {}

  public static int count(String text) {
    return text == null || text.isEmpty() ? 0 : ENCODING.countTokensOrdinary(text);
  }

  /** Tokens a list of messages costs as a prompt. */
  public static int countMessages(List<ChatMessage> messages) {
    int total = PER_REPLY;
    for (ChatMessage message : messages) {
      total += countMessage(message);
    }
    return total;
  }

  /**
   * What a chat message costs beside its text: OpenAI's per-message framing and its role,
   * one token for each of {@code system}, {@code user}, {@code assistant} and {@code tool}.
   */
  public static final int MESSAGE_OVERHEAD = PER_MESSAGE + 1;

  /** What one message adds to a prompt: its text and the per-message overhead. */
  public static int countMessage(ChatMessage message) {
    return PER_MESSAGE + count(message.role()) + count(message.content());
  }

  /** A prompt of messages whose {@link #countMessage} figures add up to {@code messageTokens}. */
  public static int prompt(int messageTokens) {
    return PER_REPLY + messageTokens;
  }
}
