package dev.atrium.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
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
 * An upstream's SSE body, as the network hands it over, turned into {@link ChatEvent}s in
 * one fused stage: {@link SseFramer} finds the events' data in the bytes, the protocol's
 * {@link Reader} reads each event's data. No strings per line, no event objects, no
 * asynchronous boundary. {@link OpenAiEvents} and the Anthropic provider's stage are this
 * stage with their reader.
 *
 * <p>The event that ends the answer (OpenAI's {@code [DONE]}, Anthropic's
 * {@code message_stop}) completes the events at once, but the body is still read to its end
 * (bounded by {@code drainGrace}): cancelling a response entity before its last chunk makes
 * the client close the pooled connection, and the pool could already have handed that
 * connection to the next request, which then failed with "Connection was cancelled". A body
 * that ends without that event was cut short and fails the events.
 */
public class SseEvents extends GraphStage<FlowShape<ByteString, ChatEvent>> {
  /** Reads one stream's events: an instance per stream, called from its stage only. */
  public interface Reader {
    /**
     * Adds the events of one SSE event's data ({@code length} bytes of {@code bytes} from
     * {@code offset}) to {@code out}.
     *
     * @return true when this event ends the answer
     * @throws ProviderException for an event that is malformed or reports a failure
     */
    boolean read(byte[] bytes, int offset, int length, List<ChatEvent> out);
  }

  private final Inlet<ByteString> in = Inlet.create("SseEvents.in");
  private final Outlet<ChatEvent> out = Outlet.create("SseEvents.out");
  private final FlowShape<ByteString, ChatEvent> shape = FlowShape.of(in, out);
  private final int maxEventSize;
  private final Duration drainGrace;
  private final Supplier<? extends Reader> readers;

  /** @param readers a new reader for each materialisation */
  public SseEvents(int maxEventSize, Duration drainGrace, Supplier<? extends Reader> readers) {
    this.maxEventSize = maxEventSize;
    this.drainGrace = drainGrace;
    this.readers = readers;
  }

  @Override
  public FlowShape<ByteString, ChatEvent> shape() {
    return shape;
  }

  /** A body that ended before the event that ends the answer. */
  public static ProviderException truncated() {
    return new ProviderException(502, "upstream_truncated", "the model server ended the stream early", true);
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    Reader reader = readers.get();
    return new TimerGraphStageLogic(shape) {
      private final SseFramer framer = new SseFramer(maxEventSize);
      // Events of one network chunk not yet pushed; a chunk usually holds one event, at most a few.
      private final List<ChatEvent> pending = new ArrayList<>(4);
      private int next;
      private boolean done;
      private final SseFramer.Handler handler = (b, offset, length) -> {
        if (!done) {
          done = reader.read(b, offset, length, pending);
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
        // The upstream sent its last event but kept the body open: give the connection up.
        completeStage();
      }
    };
  }
}
