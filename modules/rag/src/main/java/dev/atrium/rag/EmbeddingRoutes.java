package dev.atrium.rag;

import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.TenantDirectives;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.usage.UsageContext;
import dev.atrium.gateway.usage.UsageRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** OpenAI's {@code POST /v1/embeddings} with the tenant's embedder. */
final class EmbeddingRoutes {
  private static final int MAX_INPUTS = 2048;

  private final RagModule module;

  EmbeddingRoutes(RagModule module) {
    this.module = module;
  }

  Route route() {
    return path(PathMatchers.segment("v1").slash("embeddings"), () -> post(() ->
        module.tenants.principal(RouteClass.COMPLETIONS, principal -> TenantDirectives.requestId(requestId ->
            JsonRoutes.body(ObjectNode.class, body -> embed(principal, requestId, body))))));
  }

  private Route embed(Principal principal, String requestId, ObjectNode body) {
    Embedder embedder = module.embedders.forTenant(principal.tenantId());
    TenantConfig tenant = module.tenant(principal.tenantId());
    String model = body.path("model").asText("");
    Set<String> names = tenant.documents().embedder().equals("local")
        ? Set.of("local", "all-minilm-l6-v2", "all-MiniLM-L6-v2", MiniLmEmbedder.NAME)
        : Set.of(embedder.name(), String.valueOf(tenant.documents().embeddingModel()));
    if (!names.contains(model)) {
      throw new ApiError(StatusCodes.NOT_FOUND, "model_not_found", "The model `" + model
          + "` does not exist or you do not have access to it; this tenant embeds with " + names.stream().sorted().toList())
          .withExtension("param", "model");
    }
    if (body.has("encoding_format") && !body.path("encoding_format").asText().equals("float")) {
      throw ApiError.badRequest("invalid_request", "only encoding_format \"float\" is supported")
          .withExtension("param", "encoding_format");
    }
    List<String> inputs = new ArrayList<>();
    JsonNode input = body.path("input");
    if (input.isTextual()) {
      inputs.add(input.asText());
    } else if (input.isArray() && input.size() > 0 && input.size() <= MAX_INPUTS) {
      for (JsonNode item : input) {
        if (!item.isTextual()) {
          throw ApiError.badRequest("invalid_request", "input must be a string or an array of strings")
              .withExtension("param", "input");
        }
        inputs.add(item.asText());
      }
    } else {
      throw ApiError.badRequest("invalid_request", "input must be a string or an array of 1 to " + MAX_INPUTS + " strings")
          .withExtension("param", "input");
    }
    UsageContext usage = UsageContext.request(principal, requestId, RouteClass.COMPLETIONS);
    return onSuccess(module.meter.embed(embedder, inputs, usage, UsageRecord.EMBEDDING, model).handle((metered, error) -> {
      if (error != null) {
        throw new ApiError(StatusCodes.BAD_GATEWAY, "upstream_error", "The embedder failed.");
      }
      List<float[]> vectors = metered.vectors();
      int tokens = metered.tokens();
      ObjectNode out = Json.MAPPER.createObjectNode().put("object", "list");
      ArrayNode data = out.putArray("data");
      for (int i = 0; i < vectors.size(); i++) {
        ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
        ArrayNode values = item.putArray("embedding");
        for (float v : vectors.get(i)) {
          values.add(v);
        }
      }
      out.put("model", model);
      out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
      return out;
    }), JsonRoutes::json);
  }
}
