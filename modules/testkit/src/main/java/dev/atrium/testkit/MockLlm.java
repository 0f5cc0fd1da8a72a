package dev.atrium.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.atrium.testkit.mockllm.AnthropicJson;
import dev.atrium.testkit.mockllm.ChatResponses;
import dev.atrium.testkit.mockllm.Counters;
import dev.atrium.testkit.mockllm.MockLlmOptions;
import dev.atrium.testkit.mockllm.OpenAiJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.TimeoutAccess;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * A model upstream that speaks OpenAI's chat protocol (and its embeddings), and Anthropic's
 * Messages protocol ({@code POST /v1/messages}, {@link AnthropicJson}: the same answers, with
 * prompt-cache usage; a request needs {@code x-api-key} (else 401) and
 * {@code anthropic-version} (else 400), as a real server does), over real HTTP, for tests and
 * benchmarks: deterministic text ({@code "t0 t1 ... "}; a streamed tool call when the
 * request's {@code tool_choice} asks for one; as many chunks as {@code max_tokens} allows, ending with
 * finish_reason {@code length} when it cut the answer short),
 * configurable pacing, injected failures and dropped connections, and counters of what it saw.
 */
public final class MockLlm implements AutoCloseable {
  private static final String CHAT = "/v1/chat/completions";
  private static final String MESSAGES = "/v1/messages";
  private static final String MODELS = "/v1/models";
  private static final String EMBEDDINGS = "/v1/embeddings";
  private static final long BODY_TIMEOUT_MS = 10_000;

  private final Materializer materializer;
  private final Counters counters = new Counters();
  private final ChatResponses responses;
  private final AtomicReference<Configured> configured =
      new AtomicReference<>(new Configured(Behaviour.defaults()));
  private final AtomicBoolean closed = new AtomicBoolean();
  private ServerBinding binding;
  /** Set by {@link #startLocal()}: the system {@link #close()} terminates. */
  private ActorSystem<Void> ownSystem;

  /** The behaviour and how many requests it has answered, so failing(s, n) counts from configure(). */
  private record Configured(Behaviour behaviour, AtomicInteger answered) {
    Configured(Behaviour behaviour) {
      this(behaviour, new AtomicInteger());
    }

    boolean failsNext() {
      if (behaviour.failStatus() == 0) {
        return false;
      }
      int before = answered.getAndUpdate(n -> n == Integer.MAX_VALUE ? n : n + 1);
      return before < behaviour.failFirstRequests();
    }
  }

  private MockLlm(ActorSystem<?> system) {
    this.materializer = Materializer.matFromSystem(system);
    this.responses = new ChatResponses(system, counters);
  }

  /**
   * On 127.0.0.1 and a free port, in a local actor system of its own (application.conf asks
   * for a cluster; the mock must not join one or open remoting); {@link #close()} ends it.
   */
  public static MockLlm startLocal() {
    return startLocal("mock", "127.0.0.1", 0);
  }

  private static MockLlm startLocal(String name, String host, int port) {
    Config config = ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), name, config);
    try {
      MockLlm mock = start(system, host, port);
      mock.ownSystem = system;
      return mock;
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  /** Binds at once and blocks until bound; port 0 picks a free port. */
  public static MockLlm start(ActorSystem<?> system, String host, int port) {
    MockLlm mock = new MockLlm(system);
    // bindFlow materialises the flow once per connection, which is where connections are counted.
    Flow<HttpRequest, HttpResponse, NotUsed> perConnection = Flow.of(HttpRequest.class)
        .mapAsync(1, mock::route)
        .watchTermination((notUsed, done) -> {
          mock.counters.openConnections.incrementAndGet();
          done.whenComplete((ok, failure) -> mock.counters.openConnections.decrementAndGet());
          return notUsed;
        });
    // Whatever the system's configuration says, a client that leaves must end its stream at
    // once, so that streamsCancelled and openStreams show what the proxy under test did;
    // with pekko-http's default (100 ms) the source was cancelled about 1.1 s after the
    // client left, with 0 s within about 65 ms.
    ServerSettings settings = ServerSettings.create(system.classicSystem())
        .withStreamCancellationDelay(scala.concurrent.duration.Duration.Zero());
    try {
      mock.binding = Http.get(system).newServerAt(host, port).withSettings(settings)
          .bindFlow(perConnection)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("mock model could not bind " + host + ":" + port, e);
    }
    return mock;
  }

  public String baseUrl() {
    return "http://" + binding.localAddress().getAddress().getHostAddress() + ":" + port() + "/v1";
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public void configure(Behaviour b) {
    configured.set(new Configured(Objects.requireNonNull(b)));
  }

  public Behaviour behaviour() {
    return configured.get().behaviour();
  }

  /**
   * The {@code Authorization} value of each chat request (the {@code x-api-key} of each
   * messages request) since the last reset, oldest first ("" for a request without one):
   * which credential reached the upstream, and in which order.
   */
  public List<String> authorizations() {
    return counters.authorizations();
  }

  /** The last 64 embeddings requests' Authorization values (empty string: none sent). */
  public List<String> embeddingAuthorizations() {
    return counters.embeddingAuthorizations();
  }

  public Stats stats() {
    return new Stats(counters.requests.get(), counters.streamsCompleted.get(),
        counters.streamsCancelled.get(), counters.tokensGenerated.get(),
        counters.openConnections.get(), counters.openStreams.get(),
        counters.lastRequestHeaders, counters.lastRequestBody);
  }

  public void resetStats() {
    counters.reset();
  }

  /** The default behaviour and zeroed counters: what each test starts from. */
  public void reset() {
    configure(Behaviour.defaults());
    resetStats();
  }

  /** Unbinds and closes open connections, giving requests in flight one second to finish. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      binding.terminate(Duration.ofSeconds(1)).toCompletableFuture().get(10, TimeUnit.SECONDS);
      if (ownSystem != null) {
        ownSystem.terminate();
        ownSystem.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      throw new IllegalStateException("mock model did not stop", e);
    }
  }

  private CompletionStage<HttpResponse> route(HttpRequest request) {
    String path = request.getUri().path();
    if (path.equals(CHAT) && request.method().equals(HttpMethods.POST)) {
      return chat(request);
    }
    if (path.equals(MESSAGES) && request.method().equals(HttpMethods.POST)) {
      return messages(request);
    }
    if (path.equals(EMBEDDINGS) && request.method().equals(HttpMethods.POST)) {
      return embeddings(request);
    }
    request.discardEntityBytes(materializer);
    HttpResponse response;
    if (path.equals(MODELS) && request.method().equals(HttpMethods.GET)) {
      response = ChatResponses.json(200, OpenAiJson.MODELS);
    } else if (path.equals(CHAT) || path.equals(MODELS)) {
      response = ChatResponses.error(405, "Method " + request.method().value() + " is not allowed on "
          + path + ".", "method_not_allowed");
    } else {
      response = ChatResponses.error(404, "Unknown request URL: " + request.method().value() + " "
          + path + ".", "unknown_url");
    }
    return CompletableFuture.completedFuture(response);
  }

  private CompletionStage<HttpResponse> chat(HttpRequest request) {
    counters.requests.incrementAndGet();
    counters.lastRequestHeaders = headerNames(request);
    counters.authorization(request.getHeader("authorization").map(HttpHeader::value).orElse(""));
    Configured now = configured.get();
    boolean fail = now.failsNext();
    return request.entity().toStrict(BODY_TIMEOUT_MS, materializer)
        .thenCompose(strict -> {
          String body = strict.getData().utf8String();
          counters.lastRequestBody = body;
          if (fail) {
            return CompletableFuture.completedFuture(
                ChatResponses.injectedFailure(now.behaviour().failStatus()));
          }
          try {
            return responses.answer(OpenAiJson.parseChat(body), now.behaviour());
          } catch (OpenAiJson.BadRequest e) {
            return CompletableFuture.completedFuture(
                ChatResponses.error(400, e.getMessage(), "invalid_json"));
          }
        })
        // A failed future would fail the connection's flow and close it; answer instead.
        .exceptionally(e -> ChatResponses.error(500, "mock model failed: " + e, "mock_error"));
  }

  /**
   * A messages call in Anthropic's protocol: counted and recorded as a chat call is (its
   * {@code x-api-key} among the credentials), refused without a key or a version, failed
   * and paced as configured, errors in Anthropic's shape.
   */
  private CompletionStage<HttpResponse> messages(HttpRequest request) {
    counters.requests.incrementAndGet();
    counters.lastRequestHeaders = headerNames(request);
    String key = request.getHeader("x-api-key").map(HttpHeader::value).orElse("");
    counters.authorization(key);
    boolean versioned = request.getHeader("anthropic-version").isPresent();
    Configured now = configured.get();
    boolean fail = now.failsNext();
    return request.entity().toStrict(BODY_TIMEOUT_MS, materializer)
        .thenCompose(strict -> {
          String body = strict.getData().utf8String();
          counters.lastRequestBody = body;
          if (key.isEmpty()) {
            return CompletableFuture.completedFuture(anthropicError(401, "x-api-key header is required"));
          }
          if (!versioned) {
            return CompletableFuture.completedFuture(anthropicError(400, "anthropic-version: header is required"));
          }
          if (fail) {
            return CompletableFuture.completedFuture(anthropicError(now.behaviour().failStatus(),
                "The mock model was configured to fail with status " + now.behaviour().failStatus() + "."));
          }
          try {
            return responses.answer(AnthropicJson.parse(body, counters.promptCache), now.behaviour());
          } catch (OpenAiJson.BadRequest e) {
            return CompletableFuture.completedFuture(anthropicError(400, e.getMessage()));
          }
        })
        .exceptionally(e -> anthropicError(500, "mock model failed: " + e));
  }

  private static HttpResponse anthropicError(int status, String message) {
    return ChatResponses.json(status, AnthropicJson.error(status, message));
  }

  /** Embeddings (see {@link OpenAiJson#embeddings}); an injected failure fails them as it fails chat requests. */
  private CompletionStage<HttpResponse> embeddings(HttpRequest request) {
    counters.embeddingAuthorization(request.getHeader("authorization").map(HttpHeader::value).orElse(""));
    Configured now = configured.get();
    boolean fail = now.failsNext();
    int status = now.behaviour().failStatus();
    return request.entity().toStrict(BODY_TIMEOUT_MS, materializer)
        .thenApply(strict -> {
          if (fail) {
            return ChatResponses.injectedFailure(status);
          }
          try {
            return ChatResponses.json(200, OpenAiJson.embeddings(strict.getData().utf8String()));
          } catch (OpenAiJson.BadRequest e) {
            return ChatResponses.error(400, e.getMessage(), "invalid_json");
          }
        })
        .exceptionally(e -> ChatResponses.error(500, "mock model failed: " + e, "mock_error"));
  }

  /**
   * The names as they were on the wire: pekko-http moves Content-Type, Content-Length and
   * Transfer-Encoding into the entity and adds a synthetic Timeout-Access header.
   */
  private static List<String> headerNames(HttpRequest request) {
    List<String> names = new ArrayList<>();
    for (HttpHeader header : request.getHeaders()) {
      if (!(header instanceof TimeoutAccess)) {
        names.add(header.lowercaseName());
      }
    }
    HttpEntity entity = request.entity();
    if (!entity.getContentType().equals(ContentTypes.NO_CONTENT_TYPE)) {
      names.add("content-type");
    }
    if (entity.isChunked()) {
      names.add("transfer-encoding");
    } else if (entity.getContentLengthOption().isPresent()) {
      names.add("content-length");
    }
    return List.copyOf(names);
  }

  /** Standalone mock for benchmarks: a local actor system of its own, running until SIGTERM. */
  public static void main(String[] args) {
    MockLlmOptions options;
    try {
      options = MockLlmOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(MockLlmOptions.USAGE);
      System.exit(2);
      return;
    }
    MockLlm mock = startLocal("mock-llm", options.host(), options.port());
    ActorSystem<Void> system = mock.ownSystem;
    mock.configure(options.behaviour());
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(),
        "mock-llm-unbind", () -> mock.binding.unbind());
    System.out.println("mock-llm listening on " + mock.baseUrl());
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /**
   * How the mock answers. {@code failStatus} 0 means no failure, else that status with an
   * OpenAI error body for the first {@code failFirstRequests} requests after configure()
   * (Integer.MAX_VALUE: all); {@code dropAfterChunks} -1 means never, else streams break
   * after that many content chunks (non-streaming answers are not dropped).
   */
  public record Behaviour(int chunks, Duration chunkDelay, Duration firstTokenDelay,
      int failStatus, int failFirstRequests, int dropAfterChunks, List<String> script) {

    public Behaviour {
      Objects.requireNonNull(chunkDelay, "chunkDelay");
      Objects.requireNonNull(firstTokenDelay, "firstTokenDelay");
      script = script == null ? List.of() : List.copyOf(script);
      if (chunks < 0) {
        throw new IllegalArgumentException("chunks must be >= 0: " + chunks);
      }
      if (chunkDelay.isNegative() || firstTokenDelay.isNegative()) {
        throw new IllegalArgumentException("delays must not be negative");
      }
      if (failStatus != 0 && (failStatus < 400 || failStatus > 599)) {
        throw new IllegalArgumentException("failStatus must be 0 or 400-599: " + failStatus);
      }
      if (failFirstRequests < 0) {
        throw new IllegalArgumentException("failFirstRequests must be >= 0: " + failFirstRequests);
      }
      if (dropAfterChunks < -1) {
        throw new IllegalArgumentException("dropAfterChunks must be >= -1: " + dropAfterChunks);
      }
    }

    public Behaviour(int chunks, Duration chunkDelay, Duration firstTokenDelay, int failStatus, int failFirstRequests,
        int dropAfterChunks) {
      this(chunks, chunkDelay, firstTokenDelay, failStatus, failFirstRequests, dropAfterChunks, List.of());
    }

    public static Behaviour defaults() {
      return new Behaviour(8, Duration.ZERO, Duration.ZERO, 0, 0, -1);
    }

    public Behaviour withChunks(int n) {
      return new Behaviour(n, chunkDelay, firstTokenDelay, failStatus, failFirstRequests, dropAfterChunks, script);
    }

    public Behaviour withChunkDelay(Duration d) {
      return new Behaviour(chunks, d, firstTokenDelay, failStatus, failFirstRequests, dropAfterChunks, script);
    }

    public Behaviour withFirstTokenDelay(Duration d) {
      return new Behaviour(chunks, chunkDelay, d, failStatus, failFirstRequests, dropAfterChunks, script);
    }

    public Behaviour failing(int status, int firstRequests) {
      return new Behaviour(chunks, chunkDelay, firstTokenDelay, status, firstRequests, dropAfterChunks, script);
    }

    public Behaviour droppingAfter(int k) {
      return new Behaviour(chunks, chunkDelay, firstTokenDelay, failStatus, failFirstRequests, k, script);
    }

    /**
     * Answers with these pieces of text, one chunk each (a whole answer: joined), instead of
     * {@code "t0 t1 ..."}: a test chooses where the chunk boundaries fall. {@code chunks} is
     * then the number of pieces.
     */
    public Behaviour withScript(List<String> pieces) {
      return new Behaviour(pieces.size(), chunkDelay, firstTokenDelay, failStatus, failFirstRequests, dropAfterChunks,
          pieces);
    }
  }

  /** A snapshot; lastRequestHeaders and lastRequestBody are those of the most recent chat request. */
  public record Stats(long requests, long streamsCompleted, long streamsCancelled,
      long tokensGenerated, int openConnections, int openStreams,
      List<String> lastRequestHeaders, String lastRequestBody) {

    public Stats {
      lastRequestHeaders = List.copyOf(lastRequestHeaders);
    }
  }
}
