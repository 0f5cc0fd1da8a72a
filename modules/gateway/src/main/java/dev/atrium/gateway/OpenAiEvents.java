package dev.atrium.gateway;

import java.time.Duration;

/**
 * An OpenAI-compatible upstream's SSE body turned into {@link ChatEvent}s in one fused
 * stage ({@link SseEvents}): {@link OpenAiChunk} reads each chunk, never a tree, and
 * {@code data: [DONE]} ends the answer.
 */
final class OpenAiEvents extends SseEvents {
  private static final byte[] DONE = {'[', 'D', 'O', 'N', 'E', ']'};

  OpenAiEvents(int maxEventSize, Duration drainGrace) {
    super(maxEventSize, drainGrace, () -> (b, offset, length, out) -> {
      if (isDone(b, offset, length)) {
        return true;
      }
      OpenAiChunk.read(b, offset, length, out);
      return false;
    });
  }

  /** Whether an event's data is {@code [DONE]}, surrounding whitespace aside. */
  static boolean isDone(byte[] b, int offset, int length) {
    int start = offset;
    int end = offset + length;
    while (start < end && b[start] <= ' ') {
      start++;
    }
    while (end > start && b[end - 1] <= ' ') {
      end--;
    }
    if (end - start != DONE.length) {
      return false;
    }
    for (int i = 0; i < DONE.length; i++) {
      if (b[start + i] != DONE[i]) {
        return false;
      }
    }
    return true;
  }
}
