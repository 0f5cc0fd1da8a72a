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

  StreamSlot UNLIMITED = new StreamSlot() {
    @Override
    public boolean granted() {
      return true;
    }

    @Override
    public String deniedBy() {
      return "";
    }

    @Override
    public long cap() {
      return Long.MAX_VALUE;
    }

    @Override
    public void renewIfDue() {}

    @Override
    public void release() {}
  };
}
