package dev.atrium.testkit;

import java.time.Duration;

/** Waits for an assertion to hold: polled every 50 ms until it passes or {@code limit} has gone by. */
public final class Eventually {
  private Eventually() {}

  public static void await(Duration limit, Runnable assertion) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }
}
