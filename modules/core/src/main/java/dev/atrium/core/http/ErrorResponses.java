package dev.atrium.core.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atrium.core.Json;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;

/** Writes error responses in the shape the route promises. */
public final class ErrorResponses {
  private ErrorResponses() {}

  public static final ContentType PROBLEM_JSON =
      ContentTypes.create(MediaTypes.applicationWithFixedCharset("problem+json", HttpCharsets.UTF_8));

  /** OpenAI's error objects always carry "param", null or not. */
  private static final ObjectMapper WRITER =
      Json.MAPPER.copy().setDefaultPropertyInclusion(JsonInclude.Include.ALWAYS);

  /** The default code of a status, for errors that did not name one (Pekko's rejections). */
  public static String defaultCode(int status) {
    return switch (status) {
      case 400 -> "invalid_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 406 -> "not_acceptable";
      case 409 -> "conflict";
      case 413 -> "payload_too_large";
      case 415 -> "unsupported_media_type";
      case 429 -> "rate_limit_exceeded";
      case 500 -> "internal_error";
      case 503 -> "unavailable";
      default -> "http_" + status;
    };
  }

  /** OpenAI's {@code error.type} for a status. */
  static String openAiType(int status) {
    if (status == 429) {
      return "requests";
    }
    if (status >= 500) {
      return "server_error";
    }
    return switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      default -> "invalid_request_error";
    };
  }

  /**
   * Anthropic's {@code error.type} for a status: the types its API documents, so an SDK
   * raises the exception it raises for Anthropic's own API. A 503 (no capacity, a provider
   * down) is {@code overloaded_error}, what Anthropic says when it cannot take the call now.
   */
  public static String anthropicType(int status) {
    if (status >= 500) {
      return status == 503 || status == 529 ? "overloaded_error" : "api_error";
    }
    return switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      default -> "invalid_request_error";
    };
  }

  public static HttpResponse render(
      ErrorShape shape, StatusCode status, String code, String message, String requestId, String path,
      Map<String, Object> extensions, List<HttpHeader> headers) {
    Map<String, Object> body = new LinkedHashMap<>();
    ContentType contentType;
    if (shape == ErrorShape.OPENAI) {
      Map<String, Object> error = new LinkedHashMap<>();
      error.put("message", message);
      error.put("type", openAiType(status.intValue()));
      error.put("param", extensions.getOrDefault("param", null));
      error.put("code", code);
      body.put("error", error);
      contentType = ContentTypes.APPLICATION_JSON;
    } else if (shape == ErrorShape.ANTHROPIC) {
      body.put("type", "error");
      body.put("error", Map.of("type", anthropicType(status.intValue()), "message", message));
      body.put("request_id", requestId);
      contentType = ContentTypes.APPLICATION_JSON;
    } else {
      body.put("type", "urn:atrium:problem:" + code);
      body.put("title", status.reason());
      body.put("status", status.intValue());
      body.put("detail", message);
      body.put("instance", path);
      body.put("code", code);
      body.put("request_id", requestId);
      extensions.forEach(body::putIfAbsent);
      contentType = PROBLEM_JSON;
    }
    byte[] bytes;
    try {
      bytes = WRITER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an error body is plain data", e);
    }
    return HttpResponse.create()
        .withStatus(status)
        .addHeaders(headers)
        .withEntity(HttpEntities.create(contentType, bytes));
  }
}
