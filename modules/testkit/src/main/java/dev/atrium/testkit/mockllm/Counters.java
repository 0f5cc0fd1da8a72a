package dev.atrium.testkit.mockllm;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The mock's live counters; written from many connections at once, hence atomics only. */
public final class Counters {
  public final AtomicLong requests = new AtomicLong();
  public final AtomicLong streamsCompleted = new AtomicLong();
  public final AtomicLong streamsCancelled = new AtomicLong();
  public final AtomicLong tokensGenerated = new AtomicLong();
  public final AtomicInteger openConnections = new AtomicInteger();
  public final AtomicInteger openStreams = new AtomicInteger();
  // One request's headers and body, read together by snapshots; a benign race between two
  // concurrent requests is fine because tests that read them send one request at a time.
  public volatile List<String> lastRequestHeaders = List.of();
  public volatile String lastRequestBody = "";
  /** The prompt prefixes the Anthropic side has cached ({@link AnthropicJson}): emptied by a reset. */
  public final java.util.Set<String> promptCache = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.ArrayBlockingQueue<String> authorizations =
      new java.util.concurrent.ArrayBlockingQueue<>(64);

  /** Keeps the last 64 chat requests' credentials (Authorization, or x-api-key of a messages call), in arrival order. */
  public void authorization(String value) {
    keepLast(authorizations, value);
  }

  /** Adds {@code value}, dropping the oldest while the queue is full. */
  private static void keepLast(java.util.concurrent.ArrayBlockingQueue<String> queue, String value) {
    while (!queue.offer(value)) {
      queue.poll();
    }
  }

  public List<String> authorizations() {
    return List.copyOf(authorizations);
  }

  private final java.util.concurrent.ArrayBlockingQueue<String> embeddingAuthorizations =
      new java.util.concurrent.ArrayBlockingQueue<>(64);

  /** Keeps the last 64 embeddings requests' Authorization values, apart from the chat requests'. */
  public void embeddingAuthorization(String value) {
    keepLast(embeddingAuthorizations, value);
  }

  public List<String> embeddingAuthorizations() {
    return List.copyOf(embeddingAuthorizations);
  }

  /** Open gauges are left alone: connections and streams in flight are still in flight. */
  public void reset() {
    requests.set(0);
    streamsCompleted.set(0);
    streamsCancelled.set(0);
    tokensGenerated.set(0);
    lastRequestHeaders = List.of();
    lastRequestBody = "";
    authorizations.clear();
    embeddingAuthorizations.clear();
    promptCache.clear();
  }
}
