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
}
