package dev.atrium.rag;

import dev.atrium.core.Futures;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.Sse;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.usage.UsageRecord;
import dev.atrium.gateway.usage.UsageStatus;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A model's answer as the SSE events of {@code POST /v1/repos/ask}: {@code delta}s, then
 * {@code usage} and {@code done}, or {@code error} when it fails after the stream began.
 * The call is metered once, however the stream ends (completed, failed, the client gone):
 * the provider's usage, else counted. One instance per response: it is materialised once.
 */
final class AnswerStream {
  private final ModelGateway gateway;
  private final ModelGateway.Route route;
  private final List<ChatMessage> messages;
  private final List<Passage> passages;
  private final UsageRecord.Call call;
  private final StringBuilder text = new StringBuilder();
  private final AtomicReference<ChatEvent.Usage> usage = new AtomicReference<>();
  private final AtomicReference<String> finish = new AtomicReference<>("stop");
  private final AtomicBoolean ended = new AtomicBoolean();

  AnswerStream(ModelGateway gateway, ModelGateway.Route route, List<ChatMessage> messages, List<Passage> passages,
      UsageRecord.Call call) {
    this.gateway = gateway;
    this.route = route;
    this.messages = messages;
    this.passages = passages;
    this.call = call;
  }

  Source<ByteString, NotUsed> events() {
    return gateway.stream(route, messages, null, passages, call)
        .mapConcat(this::event)
        .concatLazy(Source.lazySource(() -> {
          UsageRecord recorded = end(UsageStatus.OK);
          Map<String, Object> tokens = new LinkedHashMap<>();
          tokens.put("tokens_in", recorded == null ? 0 : recorded.tokensIn());
          tokens.put("tokens_out", recorded == null ? 0 : recorded.tokensOut());
          return Source.from(List.of(Sse.event("usage", tokens), Sse.event("done", Map.of("finish_reason", finish.get()))));
        }).mapMaterializedValue(m -> NotUsed.getInstance()))
        .recover(new PFBuilder<Throwable, ByteString>().match(Throwable.class, error -> {
          Throwable cause = Futures.unwrap(error);
          end(cause instanceof TimeoutException || cause instanceof ProviderException p && p.status() == 504
              ? UsageStatus.TIMED_OUT : UsageStatus.FAILED);
          return Sse.event("error", errorBody(cause));
        }).build())
        .watchTermination((m, done) -> {
          // Cancelled by the client before the answer ended: metered for what was generated.
          done.whenComplete((d, error) -> end(UsageStatus.CANCELLED));
          return NotUsed.getInstance();
        });
  }

  private List<ByteString> event(ChatEvent event) {
    if (event instanceof ChatEvent.Delta delta && !delta.content().isEmpty()) {
      call.firstToken();
      synchronized (text) {
        text.append(delta.content());
      }
      return List.of(Sse.event("delta", Map.of("text", delta.content())));
    }
    if (event instanceof ChatEvent.Usage u) {
      usage.set(u);
    } else if (event instanceof ChatEvent.Finish f) {
      finish.set(f.reason());
    }
    return List.of();
  }

  /** The first ending meters the call (or releases what it held when no provider was asked); later ones do nothing. */
  private UsageRecord end(UsageStatus status) {
    if (!ended.compareAndSet(false, true)) {
      return null;
    }
    if (!call.attempted()) {
      gateway.abandoned(call);
      return null;
    }
    String answer;
    synchronized (text) {
      answer = text.toString();
    }
    UsageRecord recorded = call.end(status, usage.get(), messages, answer);
    gateway.usage().record(recorded);
    return recorded;
  }

  /** The {@code error} event: the provider's code and message, the gateway's own refusal, or a generic one. */
  static Map<String, Object> errorBody(Throwable cause) {
    if (cause instanceof ProviderException p) {
      return Map.of("code", p.code(), "message", p.getMessage());
    }
    if (cause instanceof ApiError refused) {
      return Map.of("code", refused.code(), "message", refused.getMessage());
    }
    return Map.of("code", "internal_error", "message", "the answer could not be completed");
  }
}
