package dev.atrium.gateway.cache;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.OpenAiMessages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The response cache's key of a request: SHA-256 over its canonical form, which is the
 * tenant, the tenant's model name, the prompt messages as the provider is sent them
 * ({@link ChatRequest#promptMessages()}: retrieved passages included) and the options that
 * change the answer. Canonical: JSON with every object's members sorted by name and every
 * number in its shortest plain form ({@code 1}, {@code 1.0} and {@code 1.00} are one
 * number), so requests that differ only in member order or number spelling share a key.
 * Options that do not change the answer are left out ({@link #IGNORED_OPTIONS}), and so is
 * a message's prompt-caching hint ({@link ChatMessage#cacheControl}: how the provider
 * caches the prefix, not what it answers).
 *
 * <p>{@link #toString} never shows the hash: a key is derived from a prompt and is not logged.
 *
 * @param hash the SHA-256, hex
 */
public record CacheKey(String tenantId, String model, String hash) {
  /** Request fields that change nothing in the answer: how it is delivered, and the caller's labels. */
  public static final Set<String> IGNORED_OPTIONS = Set.of("stream", "stream_options", "user", "metadata");

  /** Bumped when the canonical form changes, so old rows are never read as new ones. */
  private static final int VERSION = 1;

  public static CacheKey of(String tenantId, String model, ChatRequest request) {
    byte[] canonical = canonical(tenantId, model, request);
    try {
      return new CacheKey(tenantId, model, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** The hash as bytes (the table's {@code cache_key}). */
  public byte[] bytes() {
    return HexFormat.of().parseHex(hash);
  }

  @Override
  public String toString() {
    return "CacheKey[" + tenantId + ", " + model + "]";
  }

  /** The canonical form hashed: UTF-8 JSON. */
  static byte[] canonical(String tenantId, String model, ChatRequest request) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("v", VERSION);
    root.put("tenant", tenantId);
    root.put("model", model);
    var messages = root.putArray("messages");
    for (ChatMessage message : request.promptMessages()) {
      messages.add(OpenAiMessages.toJson(message));
    }
    ObjectNode options = root.putObject("options");
    if (request.options() != null) {
      request.options().properties().forEach(option -> {
        if (!IGNORED_OPTIONS.contains(option.getKey())) {
          options.set(option.getKey(), option.getValue());
        }
      });
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);
    try (JsonGenerator out = Json.MAPPER.getFactory().createGenerator(bytes)) {
      write(out, root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return bytes.toByteArray();
  }

  private static void write(JsonGenerator out, JsonNode node) throws IOException {
    if (node.isObject()) {
      List<String> names = new ArrayList<>(node.size());
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        names.add(it.next());
      }
      names.sort(null);
      out.writeStartObject();
      for (String name : names) {
        out.writeFieldName(name);
        write(out, node.get(name));
      }
      out.writeEndObject();
    } else if (node.isArray()) {
      out.writeStartArray();
      for (JsonNode element : node) {
        write(out, element);
      }
      out.writeEndArray();
    } else if (node.isNumber()) {
      out.writeNumber(node.decimalValue().stripTrailingZeros().toPlainString());
    } else {
      out.writeTree(node);
    }
  }
}
