package dev.atrium.core.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.mapRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;

import dev.atrium.core.metrics.Metrics;
import dev.atrium.core.tenant.RouteClass;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import net.logstash.logback.argument.StructuredArguments;
import org.apache.pekko.http.cors.javadsl.CorsRejection;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.scaladsl.model.HttpEntity;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every request passes through first, on every port: a request id (accepted from
 * {@code x-request-id} when it is 1-128 visible characters, generated otherwise, echoed on
 * every response), errors and rejections written as problem+json, OpenAI's or Anthropic's shape, and one
 * structured access-log line and metrics sample per request. Bodies, keys and tokens are
 * never logged.
 */
public final class Edge {
  public static final String REQUEST_ID_HEADER = "x-request-id";
  public static final String ANTHROPIC_REQUEST_ID_HEADER = "request-id";
  private static final Pattern VALID_REQUEST_ID = Pattern.compile("[\\x21-\\x7E]{1,128}");
  private static final Logger ACCESS = LoggerFactory.getLogger("atrium.access");
  private static final Logger LOG = LoggerFactory.getLogger(Edge.class);

  private final Metrics metrics;
  private final String port;

  /** @param port a label for logs and metrics: "public" or "admin" */
  public Edge(Metrics metrics, String port) {
    this.metrics = metrics;
    this.port = port;
  }

  public Route wrap(Route inner) {
    return extractRequest(request -> {
      long start = System.nanoTime();
      Optional<String> supplied = request.getHeader(REQUEST_ID_HEADER).map(HttpHeader::value);
      boolean validSupplied = supplied.map(id -> VALID_REQUEST_ID.matcher(id).matches()).orElse(false);
      String requestId = validSupplied ? supplied.get() : newRequestId();
      RequestInfo info = new RequestInfo(requestId, ErrorShape.forPath(request.getUri().path()));
      Route route = supplied.isPresent() && !validSupplied
          ? failWithBadRequestId()
          : inner;
      return mapRequest(r -> r.addAttribute(RequestInfo.KEY, info), () ->
          mapResponse(response -> finish(request, info, response, start), () ->
              handleExceptions(exceptionHandler(info, request), () ->
                  handleRejections(rejectionHandler(info, request), () -> route))));
    });
  }

  private static Route failWithBadRequestId() {
    return extractRequest(r -> {
      throw ApiError.badRequest("invalid_request_id",
          "x-request-id must be 1 to 128 visible ASCII characters; leave it out to get a generated one");
    });
  }

  public static String newRequestId() {
    return "req_" + UUID.randomUUID().toString().replace("-", "");
  }

  private HttpResponse finish(HttpRequest request, RequestInfo info, HttpResponse response, long start) {
    long nanos = System.nanoTime() - start;
    int status = response.status().intValue();
    String routeClass = info.routeClass().map(RouteClass::wireName).orElse("none");
    String tenant = info.tenantId().orElse("-");
    metrics.httpRequest(port, routeClass, status, tenant, nanos);
    ACCESS.info("{} {} {}",
        StructuredArguments.v("method", request.method().name()),
        StructuredArguments.v("path", request.getUri().path()),
        StructuredArguments.v("status", status),
        StructuredArguments.keyValue("request_id", info.requestId()),
        StructuredArguments.keyValue("tenant", tenant),
        // The principal's kind, not a user's id: a token's subject may be an e-mail address.
        StructuredArguments.keyValue("principal", info.principal().map(p -> p.kind().wireName()).orElse("-")),
        StructuredArguments.keyValue("key_id", info.principal().flatMap(p -> p.keyId()).orElse("-")),
        StructuredArguments.keyValue("route_class", routeClass),
        StructuredArguments.keyValue("port", port),
        StructuredArguments.keyValue("latency_ms", nanos / 1_000_000.0));
    HttpResponse identified = response.addHeader(RawHeader.create(REQUEST_ID_HEADER, info.requestId()));
    // Anthropic's API names the request in request-id; its SDKs read it from there.
    return info.shape() == ErrorShape.ANTHROPIC
        ? identified.addHeader(RawHeader.create(ANTHROPIC_REQUEST_ID_HEADER, info.requestId()))
        : identified;
  }

  private static ExceptionHandler exceptionHandler(RequestInfo info, HttpRequest request) {
    String path = request.getUri().path();
    return ExceptionHandler.newBuilder()
        // Futures wrap what their stages threw; answer for the cause.
        .match(java.util.concurrent.CompletionException.class, e -> e.getCause() != null,
            e -> org.apache.pekko.http.javadsl.server.Directives.handleExceptions(exceptionHandler(info, request),
                () -> org.apache.pekko.http.javadsl.server.Directives.failWith(dev.atrium.core.Futures.unwrap(e))))
        .match(ApiError.class, e -> complete(ErrorResponses.render(
            info.shape(), e.status(), e.code(), e.getMessage(), info.requestId(), path, e.extensions(), e.headers())))
        .match(EntityStreamSizeException.class, e -> complete(tooLarge(info, path, e)))
        .match(IllegalRequestException.class, e -> complete(ErrorResponses.render(
            info.shape(), e.status(), ErrorResponses.defaultCode(e.status().intValue()),
            e.info().summary(), info.requestId(), path, Map.of(), List.of())))
        .matchAny(e -> {
          LOG.error("unhandled error for request {}", info.requestId(), e);
          return complete(ErrorResponses.render(
              info.shape(), StatusCodes.INTERNAL_SERVER_ERROR, "internal_error",
              "Something went wrong on our side; the request id identifies it in our logs.",
              info.requestId(), path, Map.of(), List.of()));
        })
        .build();
  }

  private static RejectionHandler rejectionHandler(RequestInfo info, HttpRequest request) {
    String path = request.getUri().path();
    return RejectionHandler.newBuilder()
        .handle(CorsRejection.class, r -> complete(ErrorResponses.render(
            info.shape(), StatusCodes.FORBIDDEN, "cors_not_allowed",
            "CORS: " + r.cause().description() + " (not an allowed origin, method or header of this tenant)",
            info.requestId(), path, Map.of(), List.of())))
        .handle(MalformedRequestContentRejection.class, r -> r.getCause() instanceof EntityStreamSizeException e
            ? complete(tooLarge(info, path, e))
            : complete(ErrorResponses.render(info.shape(), StatusCodes.BAD_REQUEST, "invalid_request",
                r.message(), info.requestId(), path, Map.of(), List.of())))
        .build()
        .withFallback(RejectionHandler.defaultHandler().mapRejectionResponse(response -> {
          int status = response.status().intValue();
          String message = response.entity() instanceof HttpEntity.Strict strict
              ? strict.data().utf8String()
              : response.status().reason();
          var headers = new java.util.ArrayList<HttpHeader>();
          response.getHeaders().forEach(headers::add);
          return ErrorResponses.render(info.shape(), response.status(), ErrorResponses.defaultCode(status),
              message, info.requestId(), path, Map.of(), headers);
        }));
  }

  private static HttpResponse tooLarge(RequestInfo info, String path, EntityStreamSizeException e) {
    return ErrorResponses.render(info.shape(), StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
        "The request body is larger than the limit of " + e.limit() + " bytes.",
        info.requestId(), path, Map.of("limit_bytes", e.limit()), List.of(BodyLimit.CLOSE));
  }
}
