package dev.atrium.core.secrets;

import com.typesafe.config.Config;
import java.net.URI;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.model.GetSecretValueRequest;
import software.amazon.awssdk.services.secretsmanager.model.ResourceNotFoundException;

/**
 * AWS Secrets Manager's {@code GetSecretValue} over the SDK's URL-connection client (no Netty
 * or Apache pool of its own: a lookup happens once per TTL per secret). The endpoint is
 * configurable so tests and local setups talk to a fake; credentials come from the SDK's
 * default chain unless a caller passes its own. The client is built on first use, so a node
 * whose tenants name no AWS secret never touches the SDK.
 */
public final class AwsSecretsManager implements SecretStore, AutoCloseable {
  private final Region region;
  private final URI endpoint;
  private final AwsCredentialsProvider credentials;
  private volatile SecretsManagerClient client;

  /** @param endpoint the endpoint to call instead of the region's, or null */
  public AwsSecretsManager(String region, URI endpoint, AwsCredentialsProvider credentials) {
    this.region = Region.of(region);
    this.endpoint = endpoint;
    this.credentials = credentials;
  }

  /** From {@code atrium.secrets.aws} ({@code region}, {@code endpoint}: empty for the region's). */
  public static AwsSecretsManager fromConfig(Config aws) {
    String endpoint = aws.getString("endpoint");
    return new AwsSecretsManager(aws.getString("region"), endpoint.isBlank() ? null : URI.create(endpoint),
        DefaultCredentialsProvider.builder().build());
  }

  @Override
  public Optional<String> fetch(String name) {
    try {
      return Optional.ofNullable(client().getSecretValue(GetSecretValueRequest.builder().secretId(name).build())
          .secretString());
    } catch (ResourceNotFoundException e) {
      return Optional.empty();
    } catch (SdkException e) {
      // The SDK's message names the service's error, not the secret's value.
      throw new SecretException("AWS Secrets Manager could not answer for " + name + ": "
          + e.getClass().getSimpleName(), e);
    }
  }

  private SecretsManagerClient client() {
    SecretsManagerClient c = client;
    if (c == null) {
      synchronized (this) {
        if (client == null) {
          var builder = SecretsManagerClient.builder().region(region).credentialsProvider(credentials)
              .httpClientBuilder(UrlConnectionHttpClient.builder());
          if (endpoint != null) {
            builder.endpointOverride(endpoint);
          }
          client = builder.build();
        }
        c = client;
      }
    }
    return c;
  }

  @Override
  public void close() {
    SecretsManagerClient c = client;
    if (c != null) {
      c.close();
    }
  }
}
