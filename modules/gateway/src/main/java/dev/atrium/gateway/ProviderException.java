package dev.atrium.gateway;

/**
 * A model call that failed. {@code retryable} marks infrastructure failures (timeouts,
 * 5xx, 429, connection errors) that a retry or a fallback model may get past; business
 * failures (4xx: a bad request, a refused key) are not retried.
 */
public final class ProviderException extends RuntimeException {
  private final int status;
  private final String code;
  private final boolean retryable;

  public ProviderException(int status, String code, String message, boolean retryable, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.code = code;
    this.retryable = retryable;
  }

  public ProviderException(int status, String code, String message, boolean retryable) {
    this(status, code, message, retryable, null);
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public boolean retryable() {
    return retryable;
  }

  public static boolean isRetryableStatus(int status) {
    return status == 408 || status == 429 || status >= 500;
  }
}
