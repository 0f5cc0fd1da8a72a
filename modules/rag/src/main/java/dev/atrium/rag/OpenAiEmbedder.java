package dev.atrium.rag;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.core.secrets.SecretException;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ProviderException;
import dev.atrium.gateway.Tokens;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.Authorization;

/**
 * An OpenAI-compatible {@code /embeddings} endpoint of one of the tenant's providers (its
 * own width). The key is the provider's ({@code api_key_env}, {@code api_key_file} or
 * {@code api_key_secret}), looked up per call through the node's secrets cache, so a rotated key
 * is in use within the cache's TTL; it is never logged.
 */
public final class OpenAiEmbedder implements Embedder {
  private final ActorSystem<?> system;
  private final String providerName;
  private final String url;
  private final String model;
  private final Supplier<Optional<String>> apiKey;
  private final long timeoutMillis;
  private volatile int dimensions = -1;

  public OpenAiEmbedder(ActorSystem<?> system, String providerName, TenantConfig.ProviderSettings settings, String model,
      Supplier<Optional<String>> apiKey) {
    this.system = system;
    this.providerName = providerName;
    String base = settings.baseUrl().replaceAll("/+$", "");
    this.url = base + "/embeddings";
    this.model = model;
    this.apiKey = apiKey;
    this.timeoutMillis = settings.timeoutMs();
  }

  @Override
  public String name() {
    return "openai:" + providerName + ":" + model;
  }

  @Override
  public int dimensions() {
    return dimensions;
  }

  @Override
  public int countTokens(String text) {
    return Tokens.count(text);
  }

  @Override
  public CompletionStage<Embedded> embed(List<String> texts) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model);
    texts.forEach(body.putArray("input")::add);
    HttpRequest request;
    try {
      request = HttpRequest.POST(url).withEntity(ContentTypes.APPLICATION_JSON, Json.MAPPER.writeValueAsBytes(body));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    Optional<String> key;
    try {
      key = apiKey.get();
    } catch (SecretException e) {
      // The message names the place, never a value.
      return CompletableFuture.failedFuture(new ProviderException(503, "provider_key_unavailable",
          "the embedder's key could not be read: " + e.getMessage(), true));
    }
    HttpRequest authorized = key.map(k -> request.addHeader(Authorization.oauth2(k))).orElse(request);
    return Http.get(system).singleRequest(authorized)
        .thenCompose(response -> response.entity().toStrict(timeoutMillis, system).thenApply(strict -> {
          int status = response.status().intValue();
          if (status >= 300) {
            throw new ProviderException(status, "upstream_error", "the embeddings server answered " + status,
                ProviderException.isRetryableStatus(status));
          }
          try {
            JsonNode json = Json.MAPPER.readTree(strict.getData().toArray());
            JsonNode data = json.path("data");
            List<float[]> vectors = new ArrayList<>();
            for (JsonNode item : data) {
              JsonNode values = item.path("embedding");
              float[] vector = new float[values.size()];
              for (int i = 0; i < vector.length; i++) {
                vector[i] = (float) values.get(i).asDouble();
              }
              vectors.add(vector);
            }
            if (vectors.size() != texts.size()) {
              throw new ProviderException(502, "upstream_malformed", "the embeddings server returned "
                  + vectors.size() + " vectors for " + texts.size() + " texts", true);
            }
            if (!vectors.isEmpty()) {
              dimensions = vectors.get(0).length;
            }
            JsonNode reported = json.path("usage").path("prompt_tokens");
            boolean reports = reported.isIntegralNumber() && reported.canConvertToInt() && reported.asInt() >= 0;
            return new Embedded(vectors, reports ? reported.asInt() : null);
          } catch (IOException e) {
            throw new ProviderException(502, "upstream_malformed", "the embeddings server answered malformed JSON", true, e);
          }
        }));
  }
}
