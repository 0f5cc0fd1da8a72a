package dev.atrium.core.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.atrium.core.Json;
import java.io.IOException;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.util.ByteString;

/** JSON request bodies with errors that say where, and JSON responses, snake_case both ways. */
public final class JsonRoutes {
  private JsonRoutes() {}

  /**
   * Reads the body as {@code type}. Malformed JSON is a 400 naming the line and column; a
   * body of the wrong shape is a 400 naming the field. The body is never echoed back.
   */
  public static <T> Route body(Class<T> type, Function<T, Route> inner) {
    return extractRequest(request -> {
      var mediaType = request.entity().getContentType().mediaType();
      if (!request.entity().isKnownEmpty() && !mediaType.equals(MediaTypes.APPLICATION_JSON)
          && !mediaType.toString().endsWith("+json")) {
        throw new ApiError(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
            "The request body must be application/json.");
      }
      return entity(Unmarshaller.entityToByteString(), bytes -> inner.apply(parse(bytes, type)));
    });
  }

  static <T> T parse(ByteString bytes, Class<T> type) {
    if (bytes.isEmpty()) {
      throw ApiError.badRequest("malformed_json", "The request body is empty; a JSON object is expected.");
    }
    try {
      T value = Json.MAPPER.readValue(bytes.toArray(), type);
      if (value == null) {
        throw ApiError.badRequest("malformed_json", "The request body is null; a JSON object is expected.");
      }
      return value;
    } catch (MismatchedInputException e) {
      String field = Json.fieldPath(e);
      throw ApiError.badRequest("invalid_field", "Field '" + field + "' has the wrong type or value: "
          + firstLine(e.getOriginalMessage())).withExtension("param", field);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()
          + " (byte " + at.getByteOffset() + ")";
      throw ApiError.badRequest("malformed_json", "Malformed JSON" + where + ": " + firstLine(e.getOriginalMessage()));
    } catch (IOException e) {
      throw ApiError.badRequest("malformed_json", "The request body could not be read as JSON.");
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  public static Route json(StatusCode status, Object value) {
    return complete(response(status, value));
  }

  public static Route json(Object value) {
    return json(StatusCodes.OK, value);
  }

  public static HttpResponse response(StatusCode status, Object value) {
    try {
      return HttpResponse.create().withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, Json.MAPPER.writeValueAsBytes(value)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("response bodies are plain data", e);
    }
  }
}
