package dev.atrium.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.atrium.core.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;

/**
 * One {@code chat.completion.chunk} (or an error object) read with Jackson's streaming
 * parser, never a tree: the first choice's delta (its text, its tool-call fragments and its
 * bytes, kept as a slice of the input), its {@code finish_reason}, and {@code usage} with
 * the prompt's cached tokens. Everything else is skipped unread.
 */
final class OpenAiChunk {
  private static final JsonFactory JSON = Json.MAPPER.getFactory();

  private OpenAiChunk() {}

  /** Adds the chunk's events to {@code out}: a Delta, then a Finish, then a Usage, each if present. */
  static void read(byte[] bytes, int offset, int length, List<ChatEvent> out) {
    try (JsonParser p = JSON.createParser(bytes, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw malformed(null);
      }
      // Byte offsets count from the start of what the parser reads.
      new OpenAiChunk.Reader(p, bytes, offset, out).chunk();
    } catch (IOException e) {
      throw malformed(e);
    }
  }

  static ProviderException malformed(Throwable cause) {
    return new ProviderException(502, "upstream_malformed", "the model server sent a chunk that is not JSON", true,
        cause);
  }

  /** The state of reading one chunk: what was found, emitted in OpenAI's order at the end. */
  private static final class Reader {
    private final JsonParser p;
    private final byte[] bytes;
    private final int base;
    private final List<ChatEvent> out;
    private ChatEvent.Delta delta;
    private String finishReason;
    private ChatEvent.Usage usage;

    Reader(JsonParser p, byte[] bytes, int base, List<ChatEvent> out) {
      this.p = p;
      this.bytes = bytes;
      this.base = base;
      this.out = out;
    }

    void chunk() throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "choices" -> {
            if (value == JsonToken.START_ARRAY) {
              choices();
            } else {
              p.skipChildren();
            }
          }
          case "usage" -> {
            if (value == JsonToken.START_OBJECT) {
              usage();
            } else {
              p.skipChildren();
            }
          }
          case "error" -> throw error(value);
          default -> p.skipChildren();
        }
      }
      if (delta != null) {
        out.add(delta);
      }
      if (finishReason != null) {
        out.add(new ChatEvent.Finish(finishReason));
      }
      if (usage != null) {
        out.add(usage);
      }
    }

    /** Only the first choice is read: the gateway answers one choice. */
    private void choices() throws IOException {
      boolean first = true;
      while (p.nextToken() != JsonToken.END_ARRAY) {
        if (first && p.currentToken() == JsonToken.START_OBJECT) {
          choice();
        } else {
          p.skipChildren();
        }
        first = false;
      }
    }

    private void choice() throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (name.equals("delta") && value == JsonToken.START_OBJECT) {
          delta();
        } else if (name.equals("finish_reason") && value == JsonToken.VALUE_STRING) {
          finishReason = p.getText();
        } else {
          p.skipChildren();
        }
      }
    }

    private void delta() throws IOException {
      int start = offset(p.currentTokenLocation().getByteOffset());
      String content = "";
      List<ChatEvent.ToolCallDelta> toolCalls = List.of();
      boolean role = false;
      // Members that carry something: not role, not an empty content, not a null.
      int substantive = 0;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "content" -> {
            if (value == JsonToken.VALUE_STRING) {
              content = p.getText();
            }
            if (value != JsonToken.VALUE_NULL && (value != JsonToken.VALUE_STRING || !content.isEmpty())) {
              substantive++;
            }
          }
          case "tool_calls" -> {
            substantive += value == JsonToken.VALUE_NULL ? 0 : 1;
            if (value == JsonToken.START_ARRAY) {
              toolCalls = toolCalls();
            } else {
              p.skipChildren();
            }
          }
          case "role" -> {
            role = true;
            p.skipChildren();
          }
          default -> {
            substantive += value == JsonToken.VALUE_NULL ? 0 : 1;
            p.skipChildren();
          }
        }
      }
      int end = offset(p.currentTokenLocation().getByteOffset()) + 1;
      // The role chunk that opens a stream ({"role":"assistant","content":""}, or with null
      // members) is no piece of the answer: its first token is, so a failure before that can
      // still be retried or fall back, and the time to the first token is the token's.
      if (substantive == 0) {
        return;
      }
      ByteString raw = role ? withoutRole(start, end) : ByteString.fromArrayUnsafe(bytes, start, end - start);
      delta = new ChatEvent.Delta(content, toolCalls, raw);
    }

    private List<ChatEvent.ToolCallDelta> toolCalls() throws IOException {
      List<ChatEvent.ToolCallDelta> calls = new ArrayList<>(1);
      while (p.nextToken() != JsonToken.END_ARRAY) {
        if (p.currentToken() != JsonToken.START_OBJECT) {
          p.skipChildren();
          continue;
        }
        int index = calls.size();
        String id = null;
        String type = null;
        String name = null;
        String arguments = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken value = p.nextToken();
          switch (field) {
            case "index" -> index = p.getValueAsInt(index);
            case "id" -> id = text(value);
            case "type" -> type = text(value);
            case "function" -> {
              if (value != JsonToken.START_OBJECT) {
                p.skipChildren();
                break;
              }
              while (p.nextToken() == JsonToken.FIELD_NAME) {
                String member = p.currentName();
                JsonToken v = p.nextToken();
                if (member.equals("name")) {
                  name = text(v);
                } else if (member.equals("arguments")) {
                  arguments = text(v);
                } else {
                  p.skipChildren();
                }
              }
            }
            default -> p.skipChildren();
          }
        }
        calls.add(new ChatEvent.ToolCallDelta(index, id, type, name, arguments));
      }
      return calls;
    }

    private String text(JsonToken value) throws IOException {
      if (value == JsonToken.VALUE_STRING) {
        return p.getText();
      }
      p.skipChildren();
      return null;
    }

    private void usage() throws IOException {
      int prompt = 0;
      int completion = 0;
      int cached = 0;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "prompt_tokens" -> prompt = p.getValueAsInt(0);
          case "completion_tokens" -> completion = p.getValueAsInt(0);
          case "prompt_tokens_details" -> {
            if (value != JsonToken.START_OBJECT) {
              p.skipChildren();
              break;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String detail = p.currentName();
              p.nextToken();
              if (detail.equals("cached_tokens")) {
                cached = p.getValueAsInt(0);
              } else {
                p.skipChildren();
              }
            }
          }
          default -> p.skipChildren();
        }
      }
      usage = new ChatEvent.Usage(prompt, completion, cached);
    }

    private ProviderException error(JsonToken value) throws IOException {
      String message = "unknown error";
      if (value == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken v = p.nextToken();
          if (name.equals("message") && v == JsonToken.VALUE_STRING) {
            message = p.getText();
          } else {
            p.skipChildren();
          }
        }
      } else if (value == JsonToken.VALUE_STRING) {
        message = p.getText();
      }
      return new ProviderException(502, "upstream_error", "the model server failed mid-stream: "
          + (message.length() > 300 ? message.substring(0, 300) + "..." : message), true);
    }

    /** The parser's byte offset as an index into {@link #bytes}. */
    private int offset(long parserOffset) {
      return base + (int) parserOffset;
    }

    /** The delta's members but {@code role}, re-written: once per stream, in its first chunk. */
    private ByteString withoutRole(int start, int end) throws IOException {
      ByteArrayBuilder buffer = new ByteArrayBuilder(end - start);
      try (JsonParser in = JSON.createParser(bytes, start, end - start);
           JsonGenerator gen = JSON.createGenerator(buffer)) {
        in.nextToken();
        gen.writeStartObject();
        while (in.nextToken() == JsonToken.FIELD_NAME) {
          String name = in.currentName();
          in.nextToken();
          if (name.equals("role")) {
            in.skipChildren();
          } else {
            gen.writeFieldName(name);
            gen.copyCurrentStructure(in);
          }
        }
        gen.writeEndObject();
      }
      return ByteString.fromArrayUnsafe(buffer.toByteArray());
    }
  }
}
