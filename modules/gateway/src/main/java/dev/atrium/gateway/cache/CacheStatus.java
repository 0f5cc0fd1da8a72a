package dev.atrium.gateway.cache;

import java.util.Optional;

/**
 * What the response cache did for a call, as the chat doors say it in {@code x-atrium-cache}:
 * {@code hit} (answered from the cache: no upstream call, no budget, cost 0), {@code miss}
 * (asked upstream; a clean answer is stored), {@code bypass} (the client's
 * {@code cache-control} said not to read it). A call the cache does not serve at all (the
 * tenant has no {@code response_cache}, a FREE-tier call, a call on the caller's own
 * provider key) says nothing.
 */
public enum CacheStatus {
  NOT_ELIGIBLE(null),
  BYPASS("bypass"),
  MISS("miss"),
  HIT("hit");

  /** The response header that says it. */
  public static final String HEADER = "x-atrium-cache";

  private final String wireName;

  CacheStatus(String wireName) {
    this.wireName = wireName;
  }

  /** The header's value, none when the call is not the cache's. */
  public Optional<String> header() {
    return Optional.ofNullable(wireName);
  }
}
