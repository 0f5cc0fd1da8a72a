package dev.atrium.core.http;

import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.HttpRequest;

/**
 * What the edge learns about one request as it passes through (request id, error shape,
 * tenant, principal, route class), read back for the access log and metrics. It lives in
 * a request attribute and belongs to that one request.
 */
public final class RequestInfo {
  public static final AttributeKey<RequestInfo> KEY = AttributeKey.create("atrium-request-info", RequestInfo.class);

  private final String requestId;
  private final ErrorShape shape;
  private volatile Principal principal;
  private volatile String tenantId;
  private volatile RouteClass routeClass;

  RequestInfo(String requestId, ErrorShape shape) {
    this.requestId = requestId;
    this.shape = shape;
  }

  public static RequestInfo of(HttpRequest request) {
    return request.getAttribute(KEY).orElseThrow(() -> new IllegalStateException("request did not pass the edge"));
  }

  public String requestId() {
    return requestId;
  }

  public ErrorShape shape() {
    return shape;
  }

  public void routeClass(RouteClass routeClass) {
    this.routeClass = routeClass;
  }

  public void tenant(String tenantId) {
    this.tenantId = tenantId;
  }

  public void principal(Principal principal) {
    this.principal = principal;
    this.tenantId = principal.tenantId();
  }

  public Optional<Principal> principal() {
    return Optional.ofNullable(principal);
  }

  public Optional<String> tenantId() {
    return Optional.ofNullable(tenantId);
  }

  public Optional<RouteClass> routeClass() {
    return Optional.ofNullable(routeClass);
  }
}
