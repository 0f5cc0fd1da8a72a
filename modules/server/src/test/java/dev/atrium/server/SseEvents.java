package dev.atrium.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** A Server-Sent Events body split into events, for assertions. */
record SseEvents(List<Event> events) {

  record Event(String type, String data) {
    JsonNode json() {
      try {
        return Json.MAPPER.readTree(data);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  static SseEvents parse(String body) {
    List<Event> events = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      String type = "message";
      StringBuilder data = new StringBuilder();
      boolean any = false;
      for (String line : block.split("\n")) {
        if (line.startsWith("event: ")) {
          type = line.substring(7);
          any = true;
        } else if (line.startsWith("data: ")) {
          data.append(line.substring(6));
          any = true;
        } else if (line.startsWith("data:")) {
          throw new AssertionError("data line without a space: " + line);
        }
      }
      if (any) {
        events.add(new Event(type, data.toString()));
      }
    }
    return new SseEvents(events);
  }

  List<String> types() {
    return events.stream().map(Event::type).toList();
  }

  List<Event> ofType(String type) {
    return events.stream().filter(e -> e.type().equals(type)).toList();
  }

  Event first(String type) {
    return ofType(type).stream().findFirst().orElseThrow(() -> new AssertionError("no " + type + " event in " + types()));
  }

  /** The concatenated text of the native {@code delta} events. */
  String text() {
    StringBuilder text = new StringBuilder();
    ofType("delta").forEach(e -> text.append(e.json().path("text").asText()));
    return text.toString();
  }
}
