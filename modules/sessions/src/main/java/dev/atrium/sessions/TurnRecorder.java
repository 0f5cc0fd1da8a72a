package dev.atrium.sessions;

import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.Tokens;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one turn's answer as it streams and records it in the session exactly once: the
 * whole answer when the stream completed, or what was generated, marked interrupted, when
 * the client left or the provider failed. While the stream runs it renews the turn's lease.
 */
final class TurnRecorder {
  private static final Logger LOG = LoggerFactory.getLogger(TurnRecorder.class);

  private final EntityRef<ChatSession.Command> session;
  private final ChatSession.Caller caller;
  private final String turnId;
  private final int estimatedPromptTokens;
  private final Duration askTimeout;
  private final Duration renewEvery;
  private final StringBuilder text = new StringBuilder();
  private final AtomicBoolean recorded = new AtomicBoolean();
  private final CompletableFuture<SessionState.Message> result = new CompletableFuture<>();
  private volatile ChatEvent.Usage usage;
  private volatile String finishReason = "stop";
  private volatile boolean completed;
  private volatile Throwable failure;
  private volatile long lastRenewal = System.nanoTime();

  /** A tracker for a call without a session: usage and text only, nothing recorded. */
  static TurnRecorder stateless(int estimatedPromptTokens) {
    return new TurnRecorder(null, null, null, estimatedPromptTokens, Duration.ZERO, Duration.ofDays(1));
  }

  TurnRecorder(EntityRef<ChatSession.Command> session, ChatSession.Caller caller, String turnId,
      int estimatedPromptTokens, Duration askTimeout, Duration renewEvery) {
    this.session = session;
    this.caller = caller;
    this.turnId = turnId;
    this.estimatedPromptTokens = estimatedPromptTokens;
    this.askTimeout = askTimeout;
    this.renewEvery = renewEvery;
  }

  synchronized void observe(ChatEvent event) {
    if (event instanceof ChatEvent.Delta delta) {
      text.append(delta.content());
    } else if (event instanceof ChatEvent.Usage u) {
      usage = u;
    } else if (event instanceof ChatEvent.Finish f) {
      finishReason = f.reason();
    }
  }

  void completed() {
    completed = true;
  }

  void failed(Throwable error) {
    failure = error;
  }

  Throwable failure() {
    return failure;
  }

  String finishReason() {
    return finishReason;
  }

  synchronized String text() {
    return text.toString();
  }

  /** Usage as the provider reported it, else counted here. */
  ChatEvent.Usage usage() {
    ChatEvent.Usage u = usage;
    return u != null ? u : new ChatEvent.Usage(estimatedPromptTokens, Tokens.count(text()));
  }

  void renewLeaseIfDue() {
    if (session == null) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastRenewal >= renewEvery.toNanos()) {
      lastRenewal = now;
      session.tell(new ChatSession.RenewLease(caller, turnId));
    }
  }

  /** Records the answer once, however the stream ended; later calls return the same result. */
  CompletionStage<SessionState.Message> record() {
    if (session == null) {
      // A stateless call (no session): nothing to record.
      result.complete(null);
      return result;
    }
    if (recorded.compareAndSet(false, true)) {
      boolean interrupted = !completed;
      String reason = completed ? finishReason
          : failure instanceof ProviderException ? "provider_failed"
          : failure != null ? "failed" : "client_disconnected";
      ChatEvent.Usage u = usage();
      session.<SessionState.Message>askWithStatus(
              r -> new ChatSession.CompleteTurn(caller, turnId, text(), u.promptTokens(), u.completionTokens(),
                  interrupted, reason, r), askTimeout)
          .whenComplete((message, error) -> {
            if (error != null) {
              LOG.warn("turn {} could not be recorded: {}", turnId, error.getMessage());
              result.completeExceptionally(error);
            } else {
              result.complete(message);
            }
          });
    }
    return result;
  }
}
