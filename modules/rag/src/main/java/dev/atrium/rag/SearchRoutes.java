package dev.atrium.rag;

import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.Tier;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** {@code POST /v1/search} {@code {query, top_k?, filters?}}. */
final class SearchRoutes {
  private final RagModule module;

  SearchRoutes(RagModule module) {
    this.module = module;
  }

  Route route() {
    return path(PathMatchers.segment("v1").slash("search"), () -> post(() ->
        module.tenants.principal(RouteClass.SEARCH, principal -> TenantDirectives.requestId(requestId ->
            JsonRoutes.body(ObjectNode.class, body -> search(principal, requestId, body))))));
  }

  private Route search(Principal principal, String requestId, ObjectNode body) {
    if (principal.tier() != Tier.PAID) {
      throw ApiError.forbidden("search_needs_paid_key",
          "Search reads the tenant's documents and needs a PAID API key; FREE requests are stateless.");
    }
    JsonNode queryNode = body.path("query");
    String query = SearchService.normalize(queryNode.isTextual() ? queryNode.asText() : null);
    if (query.isEmpty()) {
      throw ApiError.badRequest("invalid_field", "query must be a non-empty string").withExtension("param", "query");
    }
    int limit = module.tenant(principal.tenantId()).maxPromptChars(RouteClass.SEARCH, principal.tier());
    if (query.length() > limit) {
      throw ApiError.badRequest("query_too_long", "The query has " + query.length()
          + " characters; this tenant's limit (max_prompt_chars) is " + limit + ".").withExtension("limit_chars", limit);
    }
    int topK = body.path("top_k").isMissingNode() ? 5 : body.path("top_k").asInt(-1);
    if (topK < 1 || topK > 50) {
      throw ApiError.badRequest("invalid_field", "top_k must be a number from 1 to 50").withExtension("param", "top_k");
    }
    Retriever.Filters filters = filters(body.path("filters"));
    UsageContext usage = UsageContext.request(principal, requestId, RouteClass.SEARCH);
    // Refused before the query is embedded or rewritten (the rewrite would fall back to the query as it is).
    module.gateway.screen(usage, UsageRecord.SEARCH_ANSWER, null, query);
    return onSuccess(module.search.search(usage, query, topK, filters), result -> {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("query", result.query());
      json.put("answer", result.answer());
      json.put("sources", result.sources().stream().map(s -> {
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("index", s.index());
        source.put("doc_id", s.docId());
        source.put("chunk_id", s.chunkId());
        source.put("source", s.source());
        source.put("snippet", s.snippet());
        source.put("score", s.score());
        return source;
      }).toList());
      json.put("confidence", result.confidence());
      json.put("follow_ups", result.followUps());
      json.put("cached", result.cached());
      return JsonRoutes.json(json);
    });
  }

  static Retriever.Filters filters(JsonNode node) {
    if (node.isMissingNode() || node.isNull()) {
      return Retriever.Filters.NONE;
    }
    if (!node.isObject()) {
      throw ApiError.badRequest("invalid_field", "filters must be an object").withExtension("param", "filters");
    }
    for (var name : (Iterable<String>) node::fieldNames) {
      if (!List.of("doc_ids", "repo", "user", "tags", "source_prefix").contains(name)) {
        throw ApiError.badRequest("invalid_field", "unknown filter '" + name
            + "'; filters are doc_ids, repo, user, tags, source_prefix").withExtension("param", "filters." + name);
      }
    }
    return new Retriever.Filters(strings(node, "doc_ids"), text(node, "repo"), text(node, "user"), strings(node, "tags"),
        text(node, "source_prefix"));
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.path(field);
    if (value.isMissingNode() || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw ApiError.badRequest("invalid_field", "filters." + field + " must be a string").withExtension("param", "filters." + field);
    }
    return value.asText();
  }

  private static List<String> strings(JsonNode node, String field) {
    JsonNode value = node.path(field);
    List<String> out = new ArrayList<>();
    if (value.isMissingNode() || value.isNull()) {
      return out;
    }
    if (!value.isArray()) {
      throw ApiError.badRequest("invalid_field", "filters." + field + " must be an array of strings")
          .withExtension("param", "filters." + field);
    }
    value.forEach(v -> out.add(v.asText()));
    return out;
  }
}
