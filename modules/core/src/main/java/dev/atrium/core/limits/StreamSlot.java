package dev.atrium.core.limits;

/**
 * One open stream's hold on its client's and its tenant's stream caps. The stream renews
 * it while it runs and releases it when it ends; a slot whose node died expires with its
 * lease. Not granted: the caller answers 429 at once.
 */
public interface StreamSlot {
  boolean granted();

  /** When not granted: which cap was full ("client" or "tenant") and the cap. */
  String deniedBy();

  long cap();

  /** Called on every element the stream sends; renews the lease when it is due. */
  void renewIfDue();

  /** Called once when the stream ends, however it ends. */
  void release();

  /** Whether the slot holds a lease that runs out unless renewed (a granted slot of a limiter). */
  default boolean leased() {
    return true;
  }

  /** Every stream may open: no limiter, or one that did not answer and the tenant allows it. */
  StreamSlot UNLIMITED = unlimited(() -> { });

  /** A granted slot with no cap that runs {@code onRelease} when released. */
  static StreamSlot unlimited(Runnable onRelease) {
    return new Fixed(true, "", Long.MAX_VALUE, onRelease);
  }

  /** A refusal: the {@code by} cap ("client" or "tenant") of {@code cap} open streams is full. */
  static StreamSlot denied(String by, long cap) {
    return new Fixed(false, by, cap, () -> { });
  }

  /** A slot that holds nothing to renew. */
  record Fixed(boolean granted, String deniedBy, long cap, Runnable onRelease) implements StreamSlot {
    @Override
    public void renewIfDue() {}

    @Override
    public boolean leased() {
      return false;
    }

    @Override
    public void release() {
      onRelease.run();
    }
  }
}
