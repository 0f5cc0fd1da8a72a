package dev.atrium.core.net;

import com.typesafe.config.Config;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * GETs a URL through the {@link OutboundUrls} guard: each hop is checked against the
 * policy before anything connects to it, redirects are followed here (never by the
 * client), at most {@code max-redirects} of them, and the body is read up to a cap.
 *
 * <p>What is connected to is what was checked. An IP literal, in any spelling, is
 * connected to in its canonical form. The client has no proxy ({@code NO_PROXY}: a system
 * proxy would make the checked address meaningless). For a name, the JDK resolves it again
 * when it connects, and that second lookup is answered from the JVM's own address cache,
 * which the check's lookup has just filled ({@code networkaddress.cache.ttl}, 30 s by
 * default): a DNS server that answers a public address to the check and a private one to
 * the connect (DNS rebinding) is not asked twice. What is left: a cache entry that expires
 * between the check and the connect (a window of microseconds, once per TTL), and a JVM
 * started with {@code networkaddress.cache.ttl=0}, where every lookup goes to DNS. The JDK
 * 17 client offers no way to hand it the checked address for a name while keeping the name
 * for TLS; a later JDK's resolver SPI (JDK 18+) would close that.
 *
 * <p>A redirect to another origin drops the caller's headers (they may carry credentials),
 * and a redirect from https to http is refused.
 */
public final class OutboundFetch {
  private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

  /**
   * @param maxRedirects redirects followed before the fetch is refused
   * @param connectTimeout per connection
   * @param requestTimeout per hop, up to the response head
   */
  public record Settings(int maxRedirects, Duration connectTimeout, Duration requestTimeout) {
    public static Settings fromConfig(Config config) {
      Config c = config.getConfig("atrium.outbound");
      return new Settings(c.getInt("max-redirects"), c.getDuration("connect-timeout"), c.getDuration("request-timeout"));
    }
  }

  /** The final response (never a redirect that was followed): its URL, status, headers and body. */
  public record Response(URI url, int status, HttpHeaders headers, byte[] body) {}

  private final OutboundUrls urls;
  private final Settings settings;
  private final Executor blocking;
  private volatile HttpClient client;

  /** @param blocking where DNS lookups run (they block) */
  public OutboundFetch(OutboundUrls urls, Settings settings, Executor blocking) {
    this.urls = urls;
    this.settings = settings;
    this.blocking = blocking;
  }

  /**
   * Made on the first fetch: a node that never fetches starts no client (and the JDK reads
   * some of its system properties when the first client is made, which tests set late).
   */
  private HttpClient client() {
    HttpClient c = client;
    if (c == null) {
      synchronized (this) {
        c = client;
        if (c == null) {
          c = HttpClient.newBuilder()
              .followRedirects(HttpClient.Redirect.NEVER)
              .proxy(HttpClient.Builder.NO_PROXY)
              .connectTimeout(settings.connectTimeout())
              .build();
          client = c;
        }
      }
    }
    return c;
  }

  public static OutboundFetch fromConfig(Config config, Executor blocking) {
    return new OutboundFetch(OutboundUrls.fromConfig(config), Settings.fromConfig(config), blocking);
  }

  public OutboundUrls urls() {
    return urls;
  }

  /** An operator-configured URL (provider base URL, JWKS URL, a pipeline source in a tenant file). */
  public CompletionStage<Response> fetchOperatorUrl(URI url, Map<String, String> headers, long maxBytes) {
    return fetch(urls.operator(), url, headers, maxBytes);
  }

  /** A URL that came from a request: public addresses only, unless the server config widens it. */
  public CompletionStage<Response> fetchRequestUrl(URI url, Map<String, String> headers, long maxBytes) {
    return fetch(urls.request(), url, headers, maxBytes);
  }

  /**
   * GETs {@code url} under {@code policy}. Fails with {@link OutboundRefused} for a refused
   * hop, too many redirects or a body past {@code maxBytes}; with the client's
   * {@link java.io.IOException} or {@link java.net.http.HttpTimeoutException} when the
   * network fails.
   */
  public CompletionStage<Response> fetch(OutboundPolicy policy, URI url, Map<String, String> headers, long maxBytes) {
    return hop(policy, url, headers, maxBytes, 0, null);
  }

  private CompletionStage<Response> hop(OutboundPolicy policy, URI url, Map<String, String> headers, long maxBytes,
      int redirects, URI previous) {
    return CompletableFuture.supplyAsync(() -> urls.check(policy, url), blocking).thenCompose(checked -> {
      if (previous != null && previous.getScheme().equals("https") && checked.connectTo().getScheme().equals("http")) {
        throw new OutboundRefused("insecure_redirect", "outbound URL refused: a redirect from https to http");
      }
      HttpRequest.Builder request = HttpRequest.newBuilder(checked.connectTo()).timeout(settings.requestTimeout()).GET();
      headers.forEach(request::header);
      return client().sendAsync(request.build(), info -> body(info, maxBytes)).thenCompose(response -> {
        int status = response.statusCode();
        var location = response.headers().firstValue("location");
        if (!REDIRECTS.contains(status) || location.isEmpty()) {
          return CompletableFuture.completedFuture(new Response(checked.connectTo(), status, response.headers(),
              response.body()));
        }
        if (redirects >= settings.maxRedirects()) {
          throw new OutboundRefused("too_many_redirects",
              "outbound URL refused: more than " + settings.maxRedirects() + " redirects");
        }
        URI next = checked.connectTo().resolve(OutboundUrls.parse(location.get().trim()));
        Map<String, String> nextHeaders = sameOrigin(checked.connectTo(), next) ? headers : Map.of();
        return hop(policy, next, nextHeaders, maxBytes, redirects + 1, checked.connectTo());
      });
    });
  }

  private static HttpResponse.BodySubscriber<byte[]> body(HttpResponse.ResponseInfo info, long maxBytes) {
    if (REDIRECTS.contains(info.statusCode()) && info.headers().firstValue("location").isPresent()) {
      return CappedBody.ignored();
    }
    // A declared length past the cap fails before a byte is read.
    return new CappedBody(maxBytes, info.headers().firstValueAsLong("content-length").orElse(-1));
  }

  private static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(b.getScheme()) && Objects.equals(a.getHost(), b.getHost())
        && a.getPort() == b.getPort();
  }
}
