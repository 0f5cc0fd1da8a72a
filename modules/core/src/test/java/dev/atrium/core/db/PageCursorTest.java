package dev.atrium.core.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.atrium.core.http.ApiError;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class PageCursorTest {

  @Test
  void roundTripsMicrosecondsAndIdsWithColons() {
    PageCursor cursor = new PageCursor(OffsetDateTime.of(2026, 11, 23, 17, 4, 5, 123_456_000, ZoneOffset.UTC), "a:b");
    assertThat(PageCursor.parse(cursor.encode())).isEqualTo(cursor);
  }

  @Test
  void keepsTimesBeforeTheEpoch() {
    PageCursor cursor = new PageCursor(OffsetDateTime.of(1969, 12, 31, 23, 59, 59, 999_999_000, ZoneOffset.UTC), "x");
    assertThat(PageCursor.parse(cursor.encode())).isEqualTo(cursor);
  }

  @Test
  void refusesWhatThisApiDidNotReturn() {
    // not base64; "nocolon"; "abc:d"
    for (String text : new String[] {"not base64!", "bm9jb2xvbg", "YWJjOmQ"}) {
      ApiError error = catchThrowableOfType(() -> PageCursor.parse(text), ApiError.class);
      assertThat(error).as(text).isNotNull();
      assertThat(error.status().intValue()).isEqualTo(400);
      assertThat(error.code()).isEqualTo("invalid_cursor");
    }
  }
}
