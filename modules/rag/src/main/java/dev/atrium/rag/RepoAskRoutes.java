package dev.atrium.rag;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.failWith;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterMap;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Futures;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.BodyLimit;
import dev.atrium.core.http.Sse;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.net.OutboundFetch;
import dev.atrium.core.net.OutboundRefused;
import dev.atrium.core.net.OutboundUrls;
import dev.atrium.core.tenant.ModelTask;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.Tier;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ModelGateway;
import dev.atrium.gateway.Passage;
import dev.atrium.gateway.cache.CacheDirective;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * {@code POST /v1/repos/ask} (route class {@code search}): a question about a repository,
 * sent as its archive (zip or tar.gz, the raw body, {@code ?question=}) or named by
 * {@code source_url} (a JSON body), answered over SSE. Two paths by tier:
 *
 * <ul>
 *   <li>FREE (and anonymous) callers, with the tenant's feature {@code stateless_rag_split}:
 *       answered in memory only. The archive is flattened to text up to {@code max_chars}
 *       and handed with the question to the tenant's model; nothing is stored (no document,
 *       no run, no session, no response- or search-cache entry), only the limiter, the
 *       budget and the usage row are written: the call still costs the tenant.
 *   <li>PAID callers: the repository is ingested as documents once per revision and the
 *       answer comes from retrieval filtered by the repository ({@link RepoIngest}).
 * </ul>
 *
 * <p>Every answer of the route, errors included, says {@code Cache-Control: private,
 * max-age=0}: it is the caller's own and never for a shared cache.
 */
final class RepoAskRoutes {
  static final RawHeader PRIVATE = RawHeader.create("Cache-Control", "private, max-age=0");
  static final Duration HEARTBEAT = Duration.ofSeconds(15);
  static final String SYSTEM_PROMPT = "Answer the question about the repository using only its files, given as "
      + "numbered passages with their paths. Cite the files you use like [1]. If the files do not contain the "
      + "answer, say so.";

  private final RagModule module;
  private final OutboundFetch outbound;
  private final Executor blocking;

  RepoAskRoutes(RagModule module, OutboundFetch outbound, Executor blocking) {
    this.module = module;
    this.outbound = outbound;
    this.blocking = blocking;
  }

  /** What was asked: the question, the repository's name, where to fetch it from (or null) and the FREE budget. */
  record Ask(String question, String repo, String sourceUrl, Integer maxChars) {}

  /** The archive: its bytes, its type (zip or gzip) and its revision (the SHA-256 of the bytes, or the source's ETag). */
  record Archive(ByteString bytes, String contentType, String revision) {}

  Route route() {
    return path(PathMatchers.segment("v1").slash("repos").slash("ask"), () -> post(() ->
        mapResponse(RepoAskRoutes::privately, () -> handleExceptions(PRIVATE_ERRORS, () ->
            module.tenants.principal(RouteClass.SEARCH, RepoAskRoutes::bodyLimit, principal ->
                TenantDirectives.requestId(requestId -> extractRequest(request -> parameterMap(params ->
                    ask(principal, requestId, request, params)))))))));
  }

  /** Errors thrown on the way carry the header too (the edge renders them). */
  private static final ExceptionHandler PRIVATE_ERRORS = ExceptionHandler.newBuilder()
      .match(CompletionException.class, e -> Futures.unwrap(e) instanceof ApiError,
          e -> failWith(((ApiError) Futures.unwrap(e)).withHeader(PRIVATE)))
      .match(ApiError.class, e -> failWith(e.withHeader(PRIVATE)))
      .build();

  private static HttpResponse privately(HttpResponse response) {
    return response.removeHeader("Cache-Control").addHeader(PRIVATE);
  }

  /** An archive may be as large as {@code max_archive_bytes}; a JSON question is an ordinary request body. */
  static BodyLimit bodyLimit(TenantConfig tenant, HttpRequest request) {
    if (Archives.isArchive(Extractor.mediaType(request.entity().getContentType().toString()))) {
      return new BodyLimit(tenant.documents().maxArchiveBytes(), "max_archive_bytes");
    }
    return TenantDirectives.requestLimit(tenant);
  }

  private Route ask(Principal principal, String requestId, HttpRequest request, Map<String, String> params) {
    TenantConfig tenant = module.tenant(principal.tenantId());
    boolean paid = principal.tier() == Tier.PAID;
    if (!paid && !tenant.features().statelessRagSplit()) {
      throw ApiError.forbidden("repos_need_paid_key", "Repository questions need a PAID API key or user: this "
          + "tenant's stateless path for FREE requests (features.stateless_rag_split) is off.");
    }
    String type = Extractor.mediaType(request.entity().getContentType().toString());
    boolean json = type.equals("application/json");
    if (!json && !Archives.isArchive(type)) {
      throw new ApiError(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
          "Send the repository as the body (application/zip or application/gzip, with ?question=) or name it in a "
              + "JSON body (application/json: {\"question\", \"source_url\"}), not " + type + ".")
          .withExtension("supported", List.of("application/zip", "application/gzip", "application/json"));
    }
    return entity(Unmarshaller.entityToByteString(), bytes -> {
      Ask ask = json ? fromJson(bytes) : new Ask(params.get("question"), params.get("repo"), null,
          maxChars(params.get("max_chars")));
      String question = check(tenant, principal, ask);
      UsageContext usage = UsageContext.request(principal, requestId, RouteClass.SEARCH);
      // Everything about the request is checked before the archive is read or fetched.
      String repo = repo(paid, ask);
      int maxChars = ask.maxChars() != null ? ask.maxChars() : tenant.documents().statelessMaxChars();
      if (!paid && maxChars > tenant.documents().statelessMaxChars()) {
        throw ApiError.badRequest("invalid_field", "max_chars must be from 1 to "
            + tenant.documents().statelessMaxChars() + " (documents.stateless_max_chars)")
            .withExtension("param", "max_chars");
      }
      module.gateway.screen(usage, UsageRecord.REPO_ANSWER, null, question);
      CompletionStage<Archive> archive = json ? fetch(ask.sourceUrl(), tenant.documents().maxArchiveBytes())
          : CompletableFuture.completedFuture(uploaded(bytes, type));
      if (!paid) {
        return onSuccess(archive.thenApplyAsync(a -> new Flat(a, Archives.flatten(a.bytes(), a.contentType(),
            tenant.documents().maxArchiveFiles(), maxChars)), blocking), flat ->
            stateless(usage, question, repo, flat));
      }
      return module.repoIngest.ask(principal, usage, question, repo, archive);
    });
  }

  /**
   * The repository's name: the one given, else the {@code source_url}; a FREE upload without
   * either is {@code upload}, a PAID one needs a name (its documents are stored under it).
   */
  private static String repo(boolean paid, Ask ask) {
    if (ask.repo() != null) {
      return ask.repo();
    }
    if (ask.sourceUrl() != null) {
      return ask.sourceUrl();
    }
    if (paid) {
      throw ApiError.badRequest("invalid_field", "repo is required with an archive in the body: a PAID repository "
          + "is stored under its name (or under its source_url)").withExtension("param", "repo");
    }
    return "upload";
  }

  /** The body as Pekko aggregated it: read and hashed where it lies (a 10 MB archive is not copied). */
  private static Archive uploaded(ByteString bytes, String type) {
    return new Archive(bytes, type, sha256(bytes));
  }

  private record Flat(Archive archive, Archives.Flattened text) {}

  /** The FREE answer: the flattened files as passages, the response cache bypassed, nothing stored. */
  private Route stateless(UsageContext usage, String question, String repo, Flat flat) {
    if (flat.text().files().isEmpty()) {
      throw ApiError.badRequest("empty_archive", "The archive holds no text files.");
    }
    List<Passage> passages = new ArrayList<>();
    List<Archives.FileText> files = flat.text().files();
    for (int i = 0; i < files.size(); i++) {
      Archives.FileText file = files.get(i);
      passages.add(new Passage(i + 1, file.path(), file.path(), file.path(), file.text(), 1.0));
    }
    Map<String, Object> head = new LinkedHashMap<>();
    head.put("mode", "stateless");
    head.put("repo", repo);
    head.put("revision", flat.archive().revision());
    head.put("files", files.size());
    head.put("chars", flat.text().chars());
    head.put("truncated", flat.text().truncated());
    ModelGateway.Route route = module.gateway.resolve(usage.tenantId(), ModelTask.SEARCH_ANSWER, null).orElseThrow();
    UsageRecord.Call call = UsageRecord.start(usage, UsageRecord.REPO_ANSWER, route);
    // Nothing of a stateless answer is kept: not read from the response cache, not written to it.
    call.cacheDirective(CacheDirective.BYPASS);
    Source<ByteString, NotUsed> answer = new AnswerStream(module.gateway, route, messages(question), passages, call)
        .events();
    return complete(sse(Source.single(Sse.event("repo", head)).concatLazy(answer)));
  }

  static List<ChatMessage> messages(String question) {
    return List.of(ChatMessage.system(SYSTEM_PROMPT), ChatMessage.user(question));
  }

  static HttpResponse sse(Source<ByteString, NotUsed> events) {
    return privately(Sse.response(events.keepAlive(HEARTBEAT, () -> Sse.HEARTBEAT)));
  }

  private static Ask fromJson(ByteString bytes) {
    ObjectNode body;
    try {
      body = Json.MAPPER.readValue(bytes.toArray(), ObjectNode.class);
    } catch (Exception e) {
      throw ApiError.badRequest("malformed_json", "The body is not a JSON object: " + e.getMessage().split("\n")[0]);
    }
    JsonNode source = body.path("source_url");
    if (!source.isTextual() || source.asText().isBlank()) {
      throw ApiError.badRequest("invalid_field", "source_url must be an http(s) URL of a zip or tar.gz archive; "
          + "or send the archive itself as the body (application/zip or application/gzip)")
          .withExtension("param", "source_url");
    }
    JsonNode maxChars = body.path("max_chars");
    if (!maxChars.isMissingNode() && !maxChars.isNull() && !maxChars.canConvertToInt()) {
      throw ApiError.badRequest("invalid_field", "max_chars must be a whole number").withExtension("param", "max_chars");
    }
    return new Ask(text(body, "question"), text(body, "repo"), source.asText().strip(),
        maxChars.isMissingNode() || maxChars.isNull() ? null : checkedMaxChars(maxChars.asInt()));
  }

  private static String text(ObjectNode body, String field) {
    JsonNode value = body.path(field);
    if (value.isMissingNode() || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw ApiError.badRequest("invalid_field", field + " must be a string").withExtension("param", field);
    }
    return value.asText();
  }

  private static Integer maxChars(String text) {
    if (text == null) {
      return null;
    }
    try {
      return checkedMaxChars(Integer.parseInt(text.strip()));
    } catch (NumberFormatException e) {
      throw ApiError.badRequest("invalid_field", "max_chars must be a whole number").withExtension("param", "max_chars");
    }
  }

  private static int checkedMaxChars(int n) {
    if (n < 1) {
      throw ApiError.badRequest("invalid_field", "max_chars must be at least 1").withExtension("param", "max_chars");
    }
    return n;
  }

  /** The question, normalised and held to the guardrails' length for the caller's tier; the repository's name. */
  private static String check(TenantConfig tenant, Principal principal, Ask ask) {
    String question = SearchService.normalize(ask.question());
    if (question.isEmpty()) {
      throw ApiError.badRequest("invalid_field", "question must be a non-empty string").withExtension("param", "question");
    }
    int limit = tenant.maxPromptChars(RouteClass.SEARCH, principal.tier());
    if (question.length() > limit) {
      throw ApiError.badRequest("query_too_long", "The question has " + question.length()
          + " characters; this tenant's limit (max_prompt_chars) is " + limit + ".").withExtension("limit_chars", limit);
    }
    if (ask.repo() != null && (ask.repo().isBlank() || ask.repo().length() > 200
        || ask.repo().chars().anyMatch(Character::isISOControl))) {
      throw ApiError.badRequest("invalid_field", "repo must be a name of 1 to 200 printable characters")
          .withExtension("param", "repo");
    }
    return question;
  }

  /**
   * The archive at {@code url}, through the outbound-URL guard's request policy (public
   * addresses only, each redirect checked), read up to {@code maxBytes}.
   */
  private CompletionStage<Archive> fetch(String url, long maxBytes) {
    URI uri;
    try {
      uri = OutboundUrls.parse(url);
    } catch (OutboundRefused refused) {
      throw ApiError.badRequest(refused.reason(), refused.getMessage()).withExtension("param", "source_url");
    }
    return outbound.fetchRequestUrl(uri, Map.of("Accept", "application/zip, application/gzip, */*"), maxBytes)
        .handle((response, error) -> {
          if (error != null) {
            Throwable cause = Futures.unwrap(error);
            if (cause instanceof OutboundRefused refused && refused.reason().equals("response_too_large")) {
              throw ApiError.payloadTooLarge("The archive at source_url is larger than this tenant's limit "
                  + "(max_archive_bytes) of " + maxBytes + " bytes.").withExtension("limit_bytes", maxBytes);
            }
            if (cause instanceof OutboundRefused refused) {
              throw ApiError.badRequest(refused.reason(), refused.getMessage()).withExtension("param", "source_url");
            }
            throw new ApiError(StatusCodes.BAD_GATEWAY, "source_unreachable",
                "The archive at source_url could not be fetched (" + cause.getClass().getSimpleName() + ").");
          }
          if (response.status() < 200 || response.status() > 299) {
            throw new ApiError(StatusCodes.BAD_GATEWAY, "source_unreachable",
                "The archive at source_url could not be fetched: it answered HTTP " + response.status() + ".")
                .withExtension("upstream_status", response.status());
          }
          String type = archiveType(response.headers().firstValue("content-type").orElse(""), uri.getPath());
          String etag = response.headers().firstValue("etag").map(RepoAskRoutes::etag).orElse("");
          return new Archive(ByteString.fromArrayUnsafe(response.body()), type,
              etag.isEmpty() ? sha256(response.body()) : etag);
        });
  }

  /** The archive's type from the response's Content-Type, else from the URL's suffix. */
  static String archiveType(String contentType, String urlPath) {
    String type = Extractor.mediaType(contentType);
    if (Archives.isArchive(type)) {
      return type.equals("application/zip") ? type : "application/gzip";
    }
    String path = urlPath == null ? "" : urlPath.toLowerCase(Locale.ROOT);
    if (path.endsWith(".zip")) {
      return "application/zip";
    }
    if (path.endsWith(".tar.gz") || path.endsWith(".tgz")) {
      return "application/gzip";
    }
    throw new ApiError(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
        "The resource at source_url is neither a zip nor a tar.gz archive (by its Content-Type or its suffix).")
        .withExtension("param", "source_url");
  }

  /** An entity tag without its quotes and weak marker: {@code W/"abc"} is {@code abc}. */
  static String etag(String value) {
    String tag = value.strip();
    if (tag.startsWith("W/")) {
      tag = tag.substring(2);
    }
    tag = tag.replace("\"", "");
    return tag.length() > 200 ? sha256(tag.getBytes(java.nio.charset.StandardCharsets.UTF_8)) : tag;
  }

  static String sha256(byte[] bytes) {
    return sha256(ByteString.fromArrayUnsafe(bytes));
  }

  static String sha256(ByteString bytes) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      bytes.getByteBuffers().forEach(digest::update);
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }
}
