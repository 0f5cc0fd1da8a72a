package dev.atrium.sessions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.Sse;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ProviderException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A model's answer as bytes on the wire: Atrium's native events or OpenAI's chunks. Both
 * send heartbeats while the model is silent, renew the turn's lease while they run, end
 * with an error event when the provider fails after the start, and record the turn in its
 * session however they end. {@code done} (native) and {@code [DONE]} (OpenAI, with a
 * session) are sent only once the answer is persisted.
 */
final class TurnStreams {
  private TurnStreams() {}

  static Source<ByteString, NotUsed> nativeEvents(Source<ChatEvent, NotUsed> answer, TurnRecorder recorder,
      Map<String, Object> start, List<dev.atrium.gateway.Passage> citations, Duration heartbeat, StreamSlot slot) {
    Source<ByteString, NotUsed> body = answer
        .map(event -> {
          recorder.observe(event);
          return event;
        })
        .filter(event -> event instanceof ChatEvent.Delta d && !d.content().isEmpty())
        .map(event -> Sse.event("delta", Map.of("text", ((ChatEvent.Delta) event).content())))
        .concatLazy(Source.lazySource(() -> {
          recorder.completed();
          ChatEvent.Usage usage = recorder.usage();
          return Source.single(Sse.event("usage", Map.of("tokens_in", usage.promptTokens(),
                  "tokens_out", usage.completionTokens())))
              .concat(Source.completionStage(recorder.record()).map(message -> {
                Map<String, Object> done = new LinkedHashMap<>();
                done.put("message_id", message.id());
                done.put("finish_reason", recorder.finishReason());
                return Sse.event("done", done);
              }));
        }).mapMaterializedValue(m -> NotUsed.getInstance()))
        .recover(new PFBuilder<Throwable, ByteString>().match(Throwable.class, error -> {
          recorder.failed(error);
          return Sse.event("error", errorBody(error));
        }).build());
    Source<ByteString, NotUsed> head = Source.single(Sse.event("message.start", start))
        .concat(Source.from(citations).map(p -> Sse.event("citation", citation(p))));
    return follow(head.concat(body), recorder, heartbeat, slot);
  }

  /** A passage the answer may cite, as the {@code citation} event and the JSON answer show it. */
  static Map<String, Object> citation(dev.atrium.gateway.Passage p) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", p.index());
    json.put("doc_id", p.docId());
    json.put("chunk_id", p.chunkId());
    json.put("source", p.source());
    json.put("snippet", p.text().length() > 240 ? p.text().substring(0, 237) + "..." : p.text());
    json.put("score", Math.round(p.score() * 10_000) / 10_000.0);
    return json;
  }

  static Source<ByteString, NotUsed> openAiChunks(Source<ChatEvent, NotUsed> answer, TurnRecorder recorder,
      String id, long created, String model, boolean includeUsage, Duration heartbeat, StreamSlot slot) {
    ObjectNode roleDelta = Json.MAPPER.createObjectNode().put("role", "assistant").put("content", "");
    Source<ByteString, NotUsed> body = answer
        .map(event -> {
          recorder.observe(event);
          return event;
        })
        .mapConcat(event -> {
          if (event instanceof ChatEvent.Delta d) {
            ObjectNode delta = d.raw() == null ? Json.MAPPER.createObjectNode().put("content", d.content()) : d.raw().deepCopy();
            delta.remove("role");
            return delta.isEmpty() ? List.<ByteString>of() : List.of(Sse.data(chunk(id, created, model, delta, null)));
          }
          if (event instanceof ChatEvent.Finish f) {
            return List.of(Sse.data(chunk(id, created, model, Json.MAPPER.createObjectNode(), f.reason())));
          }
          return List.<ByteString>of();
        })
        .concatLazy(Source.lazySource(() -> {
          recorder.completed();
          Source<ByteString, NotUsed> usage = includeUsage
              ? Source.single(Sse.data(usageChunk(id, created, model, recorder.usage())))
              : Source.empty();
          // A stateless call records nothing (a null result): [DONE] follows all the same.
          return usage.concat(Source.completionStage(recorder.record().thenApply(m -> Sse.DONE)));
        }).mapMaterializedValue(m -> NotUsed.getInstance()))
        .recover(new PFBuilder<Throwable, ByteString>().match(Throwable.class, error -> {
          recorder.failed(error);
          return Sse.data(Map.of("error", openAiError(error)));
        }).build());
    return follow(Source.single(Sse.data(chunk(id, created, model, roleDelta, null))).concat(body), recorder, heartbeat,
        slot);
  }

  /** Heartbeats, lease and slot renewal on every element sent, and the end however it comes. */
  private static Source<ByteString, NotUsed> follow(Source<ByteString, NotUsed> events, TurnRecorder recorder,
      Duration heartbeat, StreamSlot slot) {
    return events
        .keepAlive(heartbeat, () -> Sse.HEARTBEAT)
        .map(bytes -> {
          recorder.renewLeaseIfDue();
          slot.renewIfDue();
          return bytes;
        })
        .watchTermination((notUsed, done) -> {
          done.whenComplete((ok, error) -> {
            slot.release();
            recorder.record();
          });
          return notUsed;
        });
  }

  static ObjectNode chunk(String id, long created, String model, ObjectNode delta, String finishReason) {
    ObjectNode chunk = Json.MAPPER.createObjectNode();
    chunk.put("id", id);
    chunk.put("object", "chat.completion.chunk");
    chunk.put("created", created);
    chunk.put("model", model);
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    choice.set("delta", delta);
    choice.putNull("logprobs");
    if (finishReason == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finishReason);
    }
    return chunk;
  }

  static ObjectNode usageChunk(String id, long created, String model, ChatEvent.Usage usage) {
    ObjectNode chunk = Json.MAPPER.createObjectNode();
    chunk.put("id", id);
    chunk.put("object", "chat.completion.chunk");
    chunk.put("created", created);
    chunk.put("model", model);
    chunk.putArray("choices");
    chunk.set("usage", usageJson(usage));
    return chunk;
  }

  static ObjectNode usageJson(ChatEvent.Usage usage) {
    return Json.MAPPER.createObjectNode()
        .put("prompt_tokens", usage.promptTokens())
        .put("completion_tokens", usage.completionTokens())
        .put("total_tokens", usage.promptTokens() + usage.completionTokens());
  }

  static Map<String, Object> errorBody(Throwable error) {
    if (error instanceof ProviderException p) {
      return Map.of("code", p.code(), "message", p.getMessage());
    }
    return Map.of("code", "internal_error", "message", "the answer could not be completed");
  }

  static Map<String, Object> openAiError(Throwable error) {
    Map<String, Object> body = new LinkedHashMap<>(errorBody(error));
    body.put("type", "server_error");
    body.put("param", null);
    return body;
  }
}
