package dev.atrium.sessions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.core.Json;
import org.junit.jupiter.api.Test;

/** The native stream's {@code delta} event, written as bytes without a mapper. */
class DeltaFramingTest {
  @Test
  void writesTheDeltaEventWithItsTextEscapedAsJson() throws Exception {
    String text = "a \"quoted\" \\ line\nnext\ttab é \u2028 \u0001";
    String frame = TurnRoutes.deltaEvent(text).utf8String();
    assertThat(frame).startsWith("event: delta\ndata: {\"text\":\"").endsWith("\"}\n\n");
    // One data line: JSON escaping leaves no raw line break inside the event.
    assertThat(frame.substring(0, frame.length() - 2)).doesNotContain("\n\n");
    assertThat(frame.split("\n")).hasSize(2);
    String json = frame.substring("event: delta\ndata: ".length(), frame.length() - 2);
    assertThat(Json.MAPPER.readTree(json).path("text").asText()).isEqualTo(text);
  }
}
