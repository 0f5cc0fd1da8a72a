package dev.atrium.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * An OpenAI-compatible upstream's SSE body, as the network hands it over, turned into
 * {@link ChatEvent}s in one fused stage: {@link SseFramer} finds the events' data in the
 * bytes, {@link OpenAiChunk} reads each chunk. No strings per line, no event objects, no
 * tree per chunk, no asynchronous boundary.
 *
 * <p>{@code data: [DONE]} completes the events at once, but the body is still read to its
 * end (bounded by {@code drainGrace}): cancelling a response entity before its last chunk
 * makes the client close the pooled connection, and the pool could already have handed that
 * connection to the next request, which then failed with "Connection was cancelled". A body
 * that ends without {@code [DONE]} was cut short and fails the events.
 */
final class OpenAiEvents extends GraphStage<FlowShape<ByteString, ChatEvent>> {
  private static final byte[] DONE = {'[', 'D', 'O', 'N', 'E', ']'};

  private final Inlet<ByteString> in = Inlet.create("OpenAiEvents.in");
  private final Outlet<ChatEvent> out = Outlet.create("OpenAiEvents.out");
  private final FlowShape<ByteString, ChatEvent> shape = FlowShape.of(in, out);
  private final int maxEventSize;
  private final Duration drainGrace;

  OpenAiEvents(int maxEventSize, Duration drainGrace) {
    this.maxEventSize = maxEventSize;
    this.drainGrace = drainGrace;
  }

  @Override
  public FlowShape<ByteString, ChatEvent> shape() {
    return shape;
  }

  static ProviderException truncated() {
    return new ProviderException(502, "upstream_truncated", "the model server ended the stream early", true);
  }

  /** Whether an event's data is {@code [DONE]}, surrounding whitespace aside. */
  static boolean isDone(byte[] b, int offset, int length) {
    int start = offset;
    int end = offset + length;
    while (start < end && b[start] <= ' ') {
      start++;
    }
    while (end > start && b[end - 1] <= ' ') {
      end--;
    }
    if (end - start != DONE.length) {
      return false;
    }
    for (int i = 0; i < DONE.length; i++) {
      if (b[start + i] != DONE[i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new TimerGraphStageLogic(shape) {
      private final SseFramer framer = new SseFramer(maxEventSize);
      // Events of one network chunk not yet pushed; a chunk usually holds one event, at most a few.
      private final List<ChatEvent> pending = new ArrayList<>(4);
      private int next;
      private boolean done;
      private final SseFramer.Handler handler = (b, offset, length) -> {
        if (done) {
          return;
        }
        if (isDone(b, offset, length)) {
          done = true;
        } else {
          OpenAiChunk.read(b, offset, length, pending);
        }
      };

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            ByteString chunk = grab(in);
            if (isClosed(out)) {
              pull(in);
              return;
            }
            pending.clear();
            next = 0;
            framer.feed(chunk, handler);
            emitOrPull();
          }

          @Override
          public void onUpstreamFinish() {
            if (isClosed(out)) {
              completeStage();
            } else if (next == pending.size()) {
              if (done) {
                completeStage();
              } else {
                failStage(truncated());
              }
            }
            // else: the last events go out on the next pulls, then the stage ends as above.
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            emitOrPull();
          }
        });
      }

      private void emitOrPull() {
        if (next < pending.size()) {
          if (isAvailable(out)) {
            push(out, pending.get(next++));
          }
          return;
        }
        if (done) {
          // The answer is complete: downstream hears so now; the body's rest is read and dropped.
          complete(out);
          if (isClosed(in)) {
            completeStage();
          } else {
            scheduleOnce("drain", drainGrace);
            if (!hasBeenPulled(in)) {
              pull(in);
            }
          }
          return;
        }
        if (isClosed(in)) {
          failStage(truncated());
        } else if (!hasBeenPulled(in)) {
          pull(in);
        }
      }

      @Override
      public void onTimer(Object key) {
        // The upstream sent [DONE] but kept the body open: give the connection up.
        completeStage();
      }
    };
  }
}
