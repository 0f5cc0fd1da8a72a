package dev.atrium.core.net;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body read into memory up to a cap: past it the download is cancelled (the
 * connection closed) and the body fails with {@code response_too_large}, so a hostile
 * server cannot make the node buffer more than the caller allowed.
 */
final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
  private final long maxBytes;
  private final CompletableFuture<byte[]> result = new CompletableFuture<>();
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private Flow.Subscription subscription;

  private final long declaredBytes;

  /** @param declaredBytes the response's Content-Length, -1 when it has none */
  CappedBody(long maxBytes, long declaredBytes) {
    this.maxBytes = maxBytes;
    this.declaredBytes = declaredBytes;
  }

  /**
   * The body of a redirect that is followed: not read at all (the connection is closed), so
   * a redirect with an endless body cannot hold the fetch.
   */
  static CappedBody ignored() {
    return new CappedBody(-1, -1);
  }

  static OutboundRefused tooLarge(long maxBytes) {
    return new OutboundRefused("response_too_large", "outbound response larger than " + maxBytes + " bytes");
  }

  @Override
  public CompletionStage<byte[]> getBody() {
    return result;
  }

  @Override
  public void onSubscribe(Flow.Subscription subscription) {
    this.subscription = subscription;
    if (maxBytes < 0) {
      subscription.cancel();
      result.complete(new byte[0]);
      return;
    }
    if (declaredBytes > maxBytes) {
      subscription.cancel();
      result.completeExceptionally(tooLarge(maxBytes));
      return;
    }
    subscription.request(Long.MAX_VALUE);
  }

  @Override
  public void onNext(List<ByteBuffer> items) {
    if (result.isDone()) {
      return;
    }
    for (ByteBuffer item : items) {
      if (bytes.size() + (long) item.remaining() > maxBytes) {
        subscription.cancel();
        result.completeExceptionally(tooLarge(maxBytes));
        return;
      }
      byte[] chunk = new byte[item.remaining()];
      item.get(chunk);
      bytes.write(chunk, 0, chunk.length);
    }
  }

  @Override
  public void onError(Throwable throwable) {
    result.completeExceptionally(throwable);
  }

  @Override
  public void onComplete() {
    result.complete(bytes.toByteArray());
  }
}
