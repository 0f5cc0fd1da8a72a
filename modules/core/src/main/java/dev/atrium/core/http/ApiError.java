package dev.atrium.core.http;

import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * An error a route answers with: a status, a stable machine-readable code and a message
 * for people. Thrown (or failed with) anywhere under the edge, it becomes problem+json or
 * OpenAI's error shape. Messages never carry keys, tokens or request bodies.
 */
public final class ApiError extends RuntimeException {
  private final StatusCode status;
  private final String code;
  private final List<HttpHeader> headers;
  private final Map<String, Object> extensions;

  public ApiError(StatusCode status, String code, String message) {
    this(status, code, message, List.of(), Map.of());
  }

  public ApiError(StatusCode status, String code, String message, List<HttpHeader> headers, Map<String, Object> extensions) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.headers = List.copyOf(headers);
    this.extensions = Map.copyOf(extensions);
  }

  public StatusCode status() {
    return status;
  }

  public String code() {
    return code;
  }

  public List<HttpHeader> headers() {
    return headers;
  }

  /** Extra members of the problem document (for example the allowed models). */
  public Map<String, Object> extensions() {
    return extensions;
  }

  public ApiError withHeader(HttpHeader header) {
    return new ApiError(status, code, getMessage(), concat(headers, header), extensions);
  }

  public ApiError withExtension(String name, Object value) {
    var copy = new java.util.LinkedHashMap<>(extensions);
    copy.put(name, value);
    return new ApiError(status, code, getMessage(), headers, copy);
  }

  private static List<HttpHeader> concat(List<HttpHeader> list, HttpHeader extra) {
    var copy = new java.util.ArrayList<>(list);
    copy.add(extra);
    return copy;
  }

  public static ApiError badRequest(String code, String message) {
    return new ApiError(StatusCodes.BAD_REQUEST, code, message);
  }

  public static ApiError unauthorized(String code, String message) {
    return new ApiError(StatusCodes.UNAUTHORIZED, code, message);
  }

  public static ApiError forbidden(String code, String message) {
    return new ApiError(StatusCodes.FORBIDDEN, code, message);
  }

  public static ApiError notFound(String message) {
    return new ApiError(StatusCodes.NOT_FOUND, "not_found", message);
  }

  public static ApiError conflict(String code, String message) {
    return new ApiError(StatusCodes.CONFLICT, code, message);
  }

  public static ApiError payloadTooLarge(String message) {
    return new ApiError(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large", message);
  }

  public static ApiError unavailable(String message) {
    return new ApiError(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", message);
  }
}
