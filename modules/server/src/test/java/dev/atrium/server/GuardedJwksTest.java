package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.JWKSet;
import com.typesafe.config.ConfigFactory;
import dev.atrium.core.auth.JwksSource;
import dev.atrium.core.net.OutboundFetch;
import dev.atrium.core.net.OutboundRefused;
import dev.atrium.testkit.TestIssuer;
import java.net.URI;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The node fetches JWKS URLs through the outbound-URL guard's operator policy: as configured
 * by default (an issuer on localhost works), refused before connecting once the server
 * config narrows the policy.
 */
class GuardedJwksTest {
  static TestIssuer issuer;

  @BeforeAll
  static void start() {
    issuer = TestIssuer.start();
  }

  @AfterAll
  static void stop() {
    issuer.close();
  }

  static JwksSource source(String config) {
    return JwksSource.guarded(OutboundFetch.fromConfig(
        ConfigFactory.parseString(config).withFallback(ConfigFactory.load()), ForkJoinPool.commonPool()));
  }

  @Test
  void anOperatorConfiguredJwksUrlOnLoopbackIsFetchedAsConfigured() throws Exception {
    String body = source("").fetch(URI.create(issuer.jwksUrl())).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(JWKSet.parse(body).getKeys()).isNotEmpty();
    assertThat(issuer.jwksFetches()).isPositive();
  }

  @Test
  void aNarrowedOperatorPolicyRefusesTheJwksUrlBeforeConnecting() {
    int before = issuer.jwksFetches();
    assertThatThrownBy(() -> source("atrium.outbound.operator.deny = [loopback]")
            .fetch(URI.create(issuer.jwksUrl())).toCompletableFuture().get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).cause().isInstanceOf(OutboundRefused.class);
    assertThat(issuer.jwksFetches()).isEqualTo(before);
  }
}
