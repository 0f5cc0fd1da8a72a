package dev.atrium.rag;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.delete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterMap;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.BodyLimit;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.tenant.ApiKeys;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.Tier;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.util.ByteString;

/**
 * {@code /v1/documents}: uploads become an {@code ingest} run (202 with its id), and the
 * tenant's documents can be listed, read and deleted. An upload is JSON text
 * ({@code {source, content, content_type?, metadata?, expires_at?, id?}}), a file as the raw
 * body (PDF, DOCX, text/*; {@code ?source=}), or a zip / tar.gz archive of a repository
 * whose text files become documents with their paths as sources.
 */
final class DocumentRoutes {
  private static final Pattern DOC_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final List<String> SUPPORTED = List.of("application/json", "text/plain", "text/markdown", "text/html",
      Extractor.PDF, Extractor.DOCX, "application/zip", "application/gzip");

  private final RagModule module;

  DocumentRoutes(RagModule module) {
    this.module = module;
  }

  record Pending(String docId, String source, String contentType, byte[] bytes, JsonNode metadata, Instant expiresAt) {}

  Route route() {
    return pathPrefix(PathMatchers.segment("v1").slash("documents"), () ->
        module.tenants.principal(RouteClass.INGEST, DocumentRoutes::bodyLimit, principal -> concat(
            pathEndOrSingleSlash(() -> concat(
                post(() -> upload(principal)),
                get(() -> list(principal)))),
            pathPrefix(PathMatchers.segment(), docId -> pathEndOrSingleSlash(() -> concat(
                get(() -> onSuccess(module.document(principal.tenantId(), docId, false), v -> JsonRoutes.json(json(v)))),
                delete(() -> onSuccess(module.document(principal.tenantId(), docId, true),
                    v -> complete(StatusCodes.NO_CONTENT)))))))));
  }

  /**
   * Uploads, lists and reads need a PAID key or user (FREE and anonymous callers are
   * stateless: 403). The ingest run of an upload is the uploader's (its user, else its key);
   * the documents are the tenant's knowledge base, one namespace of ids that every session's
   * retrieval and {@code /v1/search} read, so they have no owner of their own.
   */
  private static Caller owner(Principal principal) {
    return Caller.of(principal).filter(c -> principal.tier() == Tier.PAID).orElseThrow(() ->
        ApiError.forbidden("documents_need_paid_key",
            "Documents are stored on the caller's behalf and need a PAID API key or user; FREE requests are stateless."));
  }

  /**
   * An archive may be as large as {@code max_archive_bytes} and no larger: declared over it,
   * it is refused before it is read; streamed (no length), it is cut off there. Any other
   * upload is one document (JSON-escaped text can be twice its bytes) or, as before, up to
   * the archive limit, whichever is larger; its own size is checked once read.
   */
  static BodyLimit bodyLimit(TenantConfig tenant, HttpRequest request) {
    TenantConfig.Documents limits = tenant.documents();
    if (Archives.isArchive(Extractor.mediaType(request.entity().getContentType().toString()))) {
      return new BodyLimit(limits.maxArchiveBytes(), "max_archive_bytes");
    }
    long document = limits.maxDocumentBytes() * 2 + 65_536;
    return document > limits.maxArchiveBytes()
        ? new BodyLimit(document, "max_document_bytes, twice over for JSON escapes")
        : new BodyLimit(limits.maxArchiveBytes(), "max_archive_bytes");
  }

  private Route upload(Principal principal) {
    owner(principal);
    TenantConfig.Documents limits = module.tenant(principal.tenantId()).documents();
    return extractRequest(request -> {
      String type = Extractor.mediaType(request.entity().getContentType().toString());
      if (!type.equals("application/json") && !Extractor.supported(type) && !Archives.isArchive(type)) {
        throw new ApiError(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
            "Documents are uploaded as " + SUPPORTED + " (or any text/*), not " + type + ".")
            .withExtension("supported", SUPPORTED);
      }
      return parameterMap(params ->
          entity(Unmarshaller.entityToByteString(), bytes -> {
            List<Pending> pending = type.equals("application/json")
                ? List.of(fromJson(bytes, limits))
                : Archives.isArchive(type) ? fromArchive(bytes, type, params, limits)
                : List.of(fromFile(bytes, type, params, limits));
            return onSuccess(module.ingest(principal, pending), accepted ->
                JsonRoutes.json(StatusCodes.ACCEPTED, accepted));
          }));
    });
  }

  private static Pending fromJson(ByteString bytes, TenantConfig.Documents limits) {
    ObjectNode body;
    try {
      body = Json.MAPPER.readValue(bytes.toArray(), ObjectNode.class);
    } catch (Exception e) {
      throw ApiError.badRequest("malformed_json", "The body is not a JSON object: " + e.getMessage().split("\n")[0]);
    }
    String source = text(body, "source", true);
    String content = text(body, "content", true);
    String contentType = body.path("content_type").asText("text/plain");
    if (!List.of("text/plain", "text/markdown", "text/html").contains(contentType)) {
      throw new ApiError(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
          "content_type must be text/plain, text/markdown or text/html; upload PDF and DOCX as the raw body")
          .withExtension("param", "content_type");
    }
    byte[] data = content.getBytes(StandardCharsets.UTF_8);
    checkSize(data.length, limits.maxDocumentBytes(), source);
    JsonNode metadata = body.path("metadata");
    if (!metadata.isMissingNode() && !metadata.isObject()) {
      throw ApiError.badRequest("invalid_field", "metadata must be an object").withExtension("param", "metadata");
    }
    return new Pending(docId(body.path("id").asText(null)), source, contentType, data,
        metadata.isObject() ? metadata : Json.MAPPER.createObjectNode(), expiry(body.path("expires_at").asText(null)));
  }

  private static Pending fromFile(ByteString bytes, String type, Map<String, String> params, TenantConfig.Documents limits) {
    String source = params.get("source");
    if (source == null || source.isBlank()) {
      throw ApiError.badRequest("invalid_field", "A raw upload needs ?source= (a name, path or URL)").withExtension("param", "source");
    }
    checkSize(bytes.size(), limits.maxDocumentBytes(), source);
    return new Pending(docId(params.get("id")), source, type, bytes.toArray(), metadata(params, null),
        expiry(params.get("expires_at")));
  }

  private static List<Pending> fromArchive(ByteString bytes, String type, Map<String, String> params,
      TenantConfig.Documents limits) {
    String prefix = params.getOrDefault("source", "").replaceAll("/+$", "");
    if (bytes.size() > limits.maxArchiveBytes()) {
      throw ApiError.payloadTooLarge("The archive has " + bytes.size() + " bytes; this tenant's limit (max_archive_bytes) is "
          + limits.maxArchiveBytes() + ".").withExtension("limit_bytes", limits.maxArchiveBytes());
    }
    Instant expires = expiry(params.get("expires_at"));
    List<Pending> pending = new ArrayList<>();
    for (Archives.Entry entry : Archives.unpack(bytes, type, limits.maxArchiveFiles(), limits.maxDocumentBytes())) {
      String source = prefix.isEmpty() ? entry.path() : prefix + "/" + entry.path();
      pending.add(new Pending(archiveDocId(source), source, entry.contentType(), entry.bytes(),
          metadata(params, entry.path()), expires));
    }
    if (pending.isEmpty()) {
      throw ApiError.badRequest("empty_archive", "The archive holds no text files.");
    }
    return pending;
  }

  private static JsonNode metadata(Map<String, String> params, String path) {
    ObjectNode metadata = Json.MAPPER.createObjectNode();
    for (String field : List.of("repo", "user")) {
      if (params.containsKey(field)) {
        metadata.put(field, params.get(field));
      }
    }
    if (params.containsKey("tags")) {
      var tags = metadata.putArray("tags");
      for (String tag : params.get("tags").split(",")) {
        if (!tag.isBlank()) {
          tags.add(tag.strip());
        }
      }
    }
    if (path != null) {
      metadata.put("path", path);
    }
    return metadata;
  }

  private static void checkSize(long size, long limit, String source) {
    if (size > limit) {
      throw ApiError.payloadTooLarge("'" + source + "' has " + size + " bytes; this tenant's limit (max_document_bytes) is "
          + limit + ".").withExtension("limit_bytes", limit);
    }
  }

  private static String text(JsonNode body, String field, boolean required) {
    JsonNode value = body.path(field);
    if (!value.isTextual() || value.asText().isBlank()) {
      if (required) {
        throw ApiError.badRequest("invalid_field", field + " must be a non-empty string").withExtension("param", field);
      }
      return null;
    }
    return value.asText();
  }

  static String docId(String requested) {
    if (requested == null) {
      return "d_" + UUID.randomUUID().toString().replace("-", "");
    }
    if (!DOC_ID.matcher(requested).matches()) {
      throw ApiError.badRequest("invalid_field", "id must be 1-128 letters, digits, '.', '_' or '-'").withExtension("param", "id");
    }
    return requested;
  }

  /** A stable id for an archive file: readable from its path, unique by a hash of it. */
  static String archiveDocId(String source) {
    String slug = source.replaceAll("[^A-Za-z0-9._-]+", "-").replaceAll("^-+|-+$", "");
    if (slug.length() > 100) {
      slug = slug.substring(slug.length() - 100);
    }
    return slug + "-" + ApiKeys.sha256(source).substring(0, 10);
  }

  private static Instant expiry(String text) {
    if (text == null) {
      return null;
    }
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw ApiError.badRequest("invalid_field", "expires_at must be an ISO-8601 instant such as 2027-01-01T00:00:00Z")
          .withExtension("param", "expires_at");
    }
  }

  private Route list(Principal principal) {
    owner(principal);
    return parameterMap(params -> onSuccess(module.queries.list(principal.tenantId(),
        DocumentQueries.limit(params.get("limit")), params.get("cursor")), JsonRoutes::json));
  }

  static Map<String, Object> json(Document.View v) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", v.docId());
    json.put("version", v.version());
    json.put("source", v.source());
    json.put("content_type", v.contentType());
    json.put("metadata", v.metadata());
    json.put("embedder", v.embedder());
    json.put("chunk_count", v.chunkCount());
    json.put("created_at", v.createdAt());
    json.put("updated_at", v.updatedAt());
    json.put("expires_at", v.expiresAt());
    return json;
  }
}
