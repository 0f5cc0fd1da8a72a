package dev.atrium.core.tenant;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What kind of work a route does. Rate limits, anonymous access and metrics are set per
 * class, so a tenant can allow anonymous search without allowing anonymous chat.
 */
public enum RouteClass {
  @JsonProperty("chat") CHAT,
  @JsonProperty("completions") COMPLETIONS,
  @JsonProperty("search") SEARCH,
  @JsonProperty("ingest") INGEST,
  @JsonProperty("runs") RUNS,
  @JsonProperty("tools") TOOLS,
  @JsonProperty("default") DEFAULT;

  /** The name used in tenant files, metrics and rate-limit keys. */
  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
