package dev.atrium.gateway;

import java.util.Arrays;
import org.apache.pekko.util.ByteString;

/**
 * Server-Sent Events framed at the byte level, as the WHATWG parsing rules have it: lines
 * end with {@code \n}, {@code \r\n} or {@code \r}; a {@code data:} line adds its value (one
 * leading space dropped) to the event, several are joined with {@code \n}; comment lines
 * ({@code : keep-alive}) and the other fields are skipped; an empty line ends the event.
 * Chunks may split lines and events anywhere. An event's data is handed over as a range of
 * a byte array that nothing writes to again, so a one-line event (every OpenAI chunk) costs
 * no copy beyond the one its network chunk may need: no String, no event object.
 *
 * <p>One instance per stream, fed from one thread at a time (a graph stage's).
 */
public final class SseFramer {
  /** Receives each event's data: {@code length} bytes of {@code bytes} from {@code offset}, never written again. */
  public interface Handler {
    void onData(byte[] bytes, int offset, int length);
  }

  private static final byte LF = '\n';
  private static final byte CR = '\r';
  private static final byte[] BOM = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};

  private final int maxEventSize;
  /** The start of a line that has not ended yet. */
  private ByteString partial = ByteString.emptyByteString();
  /** The previous chunk ended with CR: a LF opening this one belongs to that line end. */
  private boolean skipLf;
  private boolean first = true;
  /** The data of the event being read: a range of an array, or a joined copy once it has several lines. */
  private byte[] data;
  private int dataOffset;
  private int dataLength = -1;
  private boolean dataOwned;

  public SseFramer(int maxEventSize) {
    this.maxEventSize = maxEventSize;
  }

  public void feed(ByteString chunk, Handler handler) {
    if (chunk.isEmpty()) {
      return;
    }
    ByteString input = partial.isEmpty() ? chunk : partial.concat(chunk);
    partial = ByteString.emptyByteString();
    byte[] b = input.toArrayUnsafe();
    int pos = 0;
    int end = b.length;
    if (first) {
      // A byte order mark may open the stream, itself split across chunks.
      int known = Math.min(end, BOM.length);
      if (Arrays.equals(b, 0, known, BOM, 0, known)) {
        if (known < BOM.length) {
          partial = input;
          return;
        }
        pos = BOM.length;
      }
      first = false;
    }
    if (skipLf) {
      skipLf = false;
      if (b[pos] == LF) {
        pos++;
      }
    }
    while (pos < end) {
      int eol = pos;
      while (eol < end && b[eol] != LF && b[eol] != CR) {
        eol++;
      }
      if (eol == end) {
        if (end - pos > maxEventSize) {
          throw tooLarge();
        }
        partial = ByteString.fromArrayUnsafe(b, pos, end - pos);
        return;
      }
      line(b, pos, eol, handler);
      pos = eol + 1;
      if (b[eol] == CR) {
        if (pos < end) {
          if (b[pos] == LF) {
            pos++;
          }
        } else {
          skipLf = true;
        }
      }
    }
  }

  private void line(byte[] b, int start, int end, Handler handler) {
    if (start == end) {
      if (dataLength > 0) {
        handler.onData(data, dataOffset, dataLength);
      }
      data = null;
      dataLength = -1;
      dataOwned = false;
      return;
    }
    if (b[start] == ':' || !isData(b, start, end)) {
      return;
    }
    int value = start + 4;
    if (value < end && b[value] == ':') {
      value++;
    }
    if (value < end && b[value] == ' ') {
      value++;
    }
    append(b, value, end - value);
  }

  /** The field name is exactly {@code data}, ended by ':' or by the end of the line. */
  private static boolean isData(byte[] b, int start, int end) {
    return end - start >= 4 && b[start] == 'd' && b[start + 1] == 'a' && b[start + 2] == 't' && b[start + 3] == 'a'
        && (end - start == 4 || b[start + 4] == ':');
  }

  private void append(byte[] b, int offset, int length) {
    if (dataLength < 0) {
      if (length > maxEventSize) {
        throw tooLarge();
      }
      data = b;
      dataOffset = offset;
      dataLength = length;
      return;
    }
    int joined = dataLength + 1 + length;
    if (joined > maxEventSize) {
      throw tooLarge();
    }
    byte[] copy = dataOwned && data.length >= joined ? data : Arrays.copyOfRange(data, dataOffset,
        dataOffset + Math.max(joined, 2 * dataLength));
    if (copy != data) {
      dataOffset = 0;
    }
    copy[dataOffset + dataLength] = LF;
    System.arraycopy(b, offset, copy, dataOffset + dataLength + 1, length);
    data = copy;
    dataLength = joined;
    dataOwned = true;
  }

  private ProviderException tooLarge() {
    return new ProviderException(502, "upstream_malformed",
        "the model server sent an event larger than " + maxEventSize + " bytes", true);
  }
}
