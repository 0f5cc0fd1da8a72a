package dev.atrium.core.http;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapRequest;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import scala.Option;

/**
 * How large a body a route accepts, and the setting that says so (named in the 413).
 *
 * <p>{@link #apply} refuses a body whose declared {@code Content-Length} is over the limit
 * <em>before the entity is touched</em>: Pekko HTTP sends {@code 100 Continue} only when the
 * entity stream is first pulled, so a client that sent {@code Expect: 100-continue} gets the
 * 413 instead of being invited to upload and then reset. A body without a length (chunked)
 * is cut off at the limit while it streams (Edge answers that 413). Both answers carry
 * {@code Connection: close}: the unread rest of the body makes the connection unusable.
 *
 * <p>Past the limit the stream goes on reading and discarding for at most {@link #DRAIN_TIME}
 * and {@link #DRAIN_BYTES}, whichever ends first: a server that stops reading with the
 * client's bytes still arriving has its kernel reset the connection, and the client loses
 * the 413 it has not read yet (Pekko's own parser lingers the same way after its errors).
 * The drain gives the client the time to read the answer and stop sending; nothing of it
 * is kept, and the body is never read whole.
 */
public record BodyLimit(long bytes, String setting) {
  public static final Connection CLOSE = Connection.create("close");
  /** How long a client may take to see the 413 and stop sending. */
  public static final Duration DRAIN_TIME = Duration.ofSeconds(1);
  /** The most discarded in that time. */
  public static final long DRAIN_BYTES = 64L * 1024 * 1024;

  public Route apply(Supplier<Route> inner) {
    return extractRequest(request -> {
      OptionalLong declared = request.entity().getContentLengthOption();
      if (declared.isPresent() && declared.getAsLong() > bytes) {
        throw ApiError.payloadTooLarge("The request body has " + declared.getAsLong()
                + " bytes; this tenant's limit (" + setting + ") is " + bytes + ".")
            .withExtension("limit_bytes", bytes)
            .withHeader(CLOSE);
      }
      if (declared.isPresent()) {
        // The parser holds a declared body to its length: it cannot grow past the limit.
        return mapRequest(r -> r.withEntity((RequestEntity) r.entity().withoutSizeLimit()), inner);
      }
      // Our stage replaces the parser's own cap (parsing.max-content-length) for this route.
      return mapRequest(r -> r.withEntity(limited(r.entity())), inner);
    });
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private RequestEntity limited(RequestEntity entity) {
    // The Java API has no transformDataBytes; every Java entity is a Scala one.
    var scala = (org.apache.pekko.http.scaladsl.model.RequestEntity) entity.withoutSizeLimit();
    return scala.transformDataBytes((org.apache.pekko.stream.scaladsl.Flow) Flow.fromGraph(new Limiter(bytes)).asScala());
  }

  /** Passes up to {@code limit} bytes, then fails downstream and drains a bounded rest. */
  private static final class Limiter extends GraphStage<FlowShape<ByteString, ByteString>> {
    private final Inlet<ByteString> in = Inlet.create("BodyLimit.in");
    private final Outlet<ByteString> out = Outlet.create("BodyLimit.out");
    private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
    private final long limit;

    Limiter(long limit) {
      this.limit = limit;
    }

    @Override
    public FlowShape<ByteString, ByteString> shape() {
      return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new TimerGraphStageLogic(shape) {
        private long seen;
        private long drained = -1;

        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              ByteString chunk = grab(in);
              if (drained >= 0) {
                drained += chunk.size();
                if (drained > DRAIN_BYTES) {
                  completeStage();
                } else {
                  pull(in);
                }
                return;
              }
              seen += chunk.size();
              if (seen <= limit) {
                push(out, chunk);
              } else {
                drained = 0;
                fail(out, new EntityStreamSizeException(limit, Option.apply((Object) seen)));
                scheduleOnce("drained", DRAIN_TIME);
                pull(in);
              }
            }

            @Override
            public void onUpstreamFinish() {
              completeStage();
            }
          });
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {
              pull(in);
            }
          });
        }

        @Override
        public void onTimer(Object key) {
          completeStage();
        }
      };
    }
  }
}
