package dev.atrium.core.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.atrium.core.Json;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Server-Sent Events written as bytes: named events for Atrium's native streams, OpenAI's
 * exact {@code data: {...}} framing (with the space) for the OpenAI-compatible route, and
 * comment lines as heartbeats (every SSE client ignores them).
 */
public final class Sse {
  private Sse() {}

  public static final ByteString HEARTBEAT = ByteString.fromString(": heartbeat\n\n");
  public static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");

  /** {@code event: <type>} then {@code data: <json>}. */
  public static ByteString event(String type, Object data) {
    return ByteString.fromString("event: " + type + "\ndata: " + json(data) + "\n\n");
  }

  /** OpenAI's framing: {@code data: <json>}. */
  public static ByteString data(Object data) {
    return ByteString.fromString("data: " + json(data) + "\n\n");
  }

  private static String json(Object data) {
    try {
      // JSON never holds a raw newline, so one data line always suffices.
      return Json.MAPPER.writeValueAsString(data);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("SSE payloads are plain data", e);
    }
  }

  /** A 200 {@code text/event-stream} response; proxies are asked not to buffer it. */
  public static HttpResponse response(Source<ByteString, NotUsed> events) {
    return HttpResponse.create()
        .withEntity(HttpEntities.createChunked(ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM), events))
        .addHeaders(List.of(RawHeader.create("Cache-Control", "no-cache"), RawHeader.create("X-Accel-Buffering", "no")));
  }
}
