package dev.atrium.gateway;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A model behind the gateway. Streams are cold: nothing is sent upstream until the source
 * is materialised, and cancelling it (the client left) cancels the upstream call. Failures
 * are {@link ProviderException}s saying whether a retry could help.
 */
public interface ModelProvider {

  /** The answer as it is generated, ending with {@link ChatEvent.Finish} when complete. */
  Source<ChatEvent, NotUsed> stream(ChatRequest request);

  /** The whole answer at once. */
  CompletionStage<ChatResult> complete(ChatRequest request);

  /** A short label for logs and metrics ("local", "openai:<name>"). */
  String label();

  /**
   * This provider for one call with the caller's own key in place of its own: an instance
   * of that call only, never cached or shared. A refusal of the key (401/403) is the
   * caller's ({@code provider_key_rejected}); only 5xx and timeouts are retryable, so a
   * gateway falls back from them and from nothing else.
   */
  default ModelProvider withCallerKey(dev.atrium.gateway.byok.ProviderKey key) {
    throw new UnsupportedOperationException(label() + " takes no caller keys");
  }
}
