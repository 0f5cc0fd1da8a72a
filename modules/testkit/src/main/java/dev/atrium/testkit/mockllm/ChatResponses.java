package dev.atrium.testkit.mockllm;

import dev.atrium.testkit.MockLlm.Behaviour;
import dev.atrium.testkit.mockllm.OpenAiJson.ChatCall;
import dev.atrium.testkit.mockllm.OpenAiJson.StreamFrames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** Generates the mock's chat answers: paced, counted, and broken on request. */
public final class ChatResponses {
  private final ClassicActorSystemProvider system;
  private final Counters counters;
  private static final Duration FLUSH_GRACE = Duration.ofMillis(50);

  private final AtomicLong ids = new AtomicLong();

  public ChatResponses(ClassicActorSystemProvider system, Counters counters) {
    this.system = system;
    this.counters = counters;
  }

  /** A JSON response; a status pekko-http has no name for (Anthropic's 529) gets one of its own. */
  public static HttpResponse json(int status, ByteString body) {
    return HttpResponse.create()
        .withStatus(org.apache.pekko.http.javadsl.model.StatusCodes.lookup(status).orElseGet(() ->
            org.apache.pekko.http.javadsl.model.StatusCodes.custom(status, "Overloaded", "", false, true)))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
  }

  public static HttpResponse error(int status, String message, String code) {
    return json(status, OpenAiJson.error(status, message, code));
  }

  public static HttpResponse injectedFailure(int status) {
    return error(status, "The mock model was configured to fail with status " + status + ".",
        "mock_failure");
  }

  /**
   * The frames of one streamed answer in its protocol: what opens it (before the first
   * piece, not paced), each piece, what follows the last piece, and the event that
   * completes it (its creation marks the stream completed).
   */
  public interface Frames {
    ByteString open();

    ByteString piece(int index, int pieces);

    List<ByteString> tail(int pieces);

    ByteString done();
  }

  public CompletionStage<HttpResponse> answer(ChatCall call, Behaviour behaviour) {
    String id = "chatcmpl-mock-" + ids.incrementAndGet();
    long created = System.currentTimeMillis() / 1000;
    return call.stream()
        ? CompletableFuture.completedFuture(stream(openAi(new StreamFrames(id, created, call), call, behaviour),
            call.chunks(behaviour.chunks()), behaviour))
        : complete(call, behaviour, n -> behaviour.script().isEmpty()
            ? OpenAiJson.completion(id, created, call, n, call.finishReason(behaviour.chunks()))
            : OpenAiJson.completion(id, created, call, String.join("", behaviour.script()), n, "stop"));
  }

  /** An answer in Anthropic's Messages protocol ({@link AnthropicJson}). */
  public CompletionStage<HttpResponse> answer(AnthropicJson.MessagesCall call, Behaviour behaviour) {
    String id = "msg_mock_" + ids.incrementAndGet();
    return call.chat().stream()
        ? CompletableFuture.completedFuture(stream(new AnthropicJson.Frames(id, call, behaviour.chunks()),
            call.chat().chunks(behaviour.chunks()), behaviour))
        : complete(call.chat(), behaviour, n -> AnthropicJson.message(id, call, n, behaviour.chunks()));
  }

  private static Frames openAi(StreamFrames frames, ChatCall call, Behaviour behaviour) {
    return new Frames() {
      @Override
      public ByteString open() {
        return frames.role();
      }

      @Override
      public ByteString piece(int index, int pieces) {
        if (call.tool() != null) {
          return frames.toolCall(call.tool(), index, pieces);
        }
        return behaviour.script().isEmpty() ? frames.content(index) : frames.text(behaviour.script().get(index));
      }

      @Override
      public List<ByteString> tail(int pieces) {
        List<ByteString> tail = new ArrayList<>(2);
        tail.add(call.tool() == null ? frames.stop(call.finishReason(behaviour.chunks())) : frames.toolCallsStop());
        if (call.includeUsage()) {
          tail.add(frames.usage(call.promptTokens(), pieces));
        }
        return tail;
      }

      @Override
      public ByteString done() {
        return StreamFrames.DONE;
      }
    };
  }

  /** A non-streaming answer waits as long as the whole stream would have taken. */
  private CompletionStage<HttpResponse> complete(ChatCall call, Behaviour behaviour,
      java.util.function.IntFunction<ByteString> body) {
    int chunks = call.chunks(behaviour.chunks());
    Duration generation = behaviour.firstTokenDelay()
        .plus(behaviour.chunkDelay().multipliedBy(chunks));
    CompletionStage<Integer> generated = generation.isZero()
        ? CompletableFuture.completedFuture(chunks)
        : Patterns.after(generation, system, () -> CompletableFuture.completedFuture(chunks));
    return generated.thenApply(n -> {
      counters.tokensGenerated.addAndGet(n);
      return json(200, body.apply(n));
    });
  }

  private HttpResponse stream(Frames frames, int chunks, Behaviour behaviour) {
    boolean drops = behaviour.dropAfterChunks() >= 0;
    // A drop configured beyond the last piece still breaks the stream, before its stop chunk.
    int emitted = drops ? Math.min(chunks, behaviour.dropAfterChunks()) : chunks;
    Source<ByteString, NotUsed> content = paced(emitted, behaviour)
        .map(i -> {
          counters.tokensGenerated.incrementAndGet();
          return frames.piece(i, emitted);
        });

    AtomicBoolean finished = new AtomicBoolean();
    Source<ByteString, NotUsed> end;
    if (drops) {
      // lazySource: concatLazy defers pulling, not materialising, so the timer would start
      // with the stream instead of after the K-th chunk.
      end = Source.lazySource(() -> Source.completionStage(dropLater(behaviour)))
          .mapMaterializedValue(ignored -> NotUsed.getInstance());
    } else {
      // The creator runs only when the last event is pulled, which marks a stream as completed.
      end = Source.from(frames.tail(chunks)).concatLazy(Source.lazySingle(() -> {
        finished.set(true);
        return frames.done();
      }));
    }

    // concatLazy, not concat: concat buffers one element of its second source at once,
    // which ran the last event's creator above before the first chunk.
    Source<ByteString, NotUsed> events = Source.single(frames.open())
        .concatLazy(content)
        .concatLazy(end)
        .watchTermination((notUsed, done) -> {
          counters.openStreams.incrementAndGet();
          done.whenComplete((ok, failure) -> ended(finished.get(), failure));
          return notUsed;
        });
    return HttpResponse.create()
        .withEntity(HttpEntities.createChunked(MediaTypes.TEXT_EVENT_STREAM.toContentType(), events));
  }

  /**
   * watchTermination cannot tell a completed stream from a cancelled one on its own (both
   * may end the future with Done), so completion is "the last event ([DONE], message_stop) was produced".
   */
  private void ended(boolean finished, Throwable failure) {
    counters.openStreams.decrementAndGet();
    Throwable cause = dev.atrium.core.Futures.unwrap(failure);
    if (cause instanceof DroppedByMock) {
      return;
    }
    if (finished && cause == null) {
      counters.streamsCompleted.incrementAndGet();
    } else {
      counters.streamsCancelled.incrementAndGet();
    }
  }

  /**
   * Fails the entity stream, which makes pekko-http abort the connection (a TCP reset, no
   * chunked terminator), so the client sees a broken stream rather than a clean end. The
   * abort discards writes still queued, so it waits for the next chunk's slot, and at least
   * FLUSH_GRACE: otherwise the client could lose the K chunks it should see first.
   */
  private CompletionStage<ByteString> dropLater(Behaviour behaviour) {
    Duration wait = behaviour.chunkDelay().compareTo(FLUSH_GRACE) > 0
        ? behaviour.chunkDelay() : FLUSH_GRACE;
    return Patterns.after(wait, system,
        () -> CompletableFuture.<ByteString>failedFuture(new DroppedByMock()));
  }

  /**
   * Piece i is due firstTokenDelay + i * chunkDelay after the first pull. Waiting for that
   * deadline rather than for chunkDelay after the previous piece keeps the rate exact: the
   * scheduler rounds every wait up to its 10 ms tick, which turned 10 ms between chunks into
   * about 30 ms.
   */
  private Source<Integer, NotUsed> paced(int pieces, Behaviour behaviour) {
    if (pieces == 0) {
      return Source.empty();
    }
    Source<Integer, NotUsed> indices = Source.range(0, pieces - 1);
    long first = behaviour.firstTokenDelay().toNanos();
    long every = behaviour.chunkDelay().toNanos();
    if (first == 0 && every == 0) {
      return indices;
    }
    // One array per stream: this source is built for one response and materialised once.
    long[] origin = new long[1];
    return indices.mapAsync(1, i -> {
      long now = System.nanoTime();
      if (i == 0) {
        origin[0] = now;
      }
      long wait = origin[0] + first + i * every - now;
      return wait <= 0
          ? CompletableFuture.completedFuture(i)
          : Patterns.after(Duration.ofNanos(wait), system, () -> CompletableFuture.completedFuture(i));
    });
  }

  /** Carries no stack trace: it is an expected, configured failure, logged by pekko-http. */
  static final class DroppedByMock extends RuntimeException {
    DroppedByMock() {
      super("mock model dropped the connection as configured", null, false, false);
    }
  }
}
