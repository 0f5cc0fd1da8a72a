package dev.atrium.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.atrium.core.tenant.TenantConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pooled upstream connections that die under a request, as they do when an upstream closes
 * kept-alive connections (a keep-alive timeout, a request limit per connection) at the moment
 * the pool reuses one: the request reached nobody that answered, so it is sent once more on a
 * fresh connection, even with {@code max_retries} 0. A raw loopback server plays the upstream:
 * it answers the first request of each connection and drops the connection when the next
 * request on it arrives, without a byte of response.
 */
class StaleConnectionTest {
  static ActorTestKit testKit;
  OneAnswerPerConnection upstream;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("stale",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void close() throws IOException {
    upstream.close();
  }

  OpenAiProvider provider() {
    return new OpenAiProvider(testKit.system(), "up", new TenantConfig.ProviderSettings(TenantConfig.ProviderType.OPENAI,
        "http://127.0.0.1:" + upstream.port() + "/v1", null, 30_000, 0), Optional.empty());
  }

  static String text(List<ChatEvent> events) {
    return ModelGatewayTest.text(events);
  }

  static List<ChatEvent> stream(OpenAiProvider provider) throws Exception {
    return provider.stream(new ChatRequest("m", List.of(ChatMessage.user("hi")), null))
        .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get();
  }

  @Test
  void aStreamWhosePooledConnectionWasClosedUnderItIsSentAgainOnAFreshOne() throws Exception {
    upstream = new OneAnswerPerConnection(200);
    OpenAiProvider provider = provider();
    for (int i = 0; i < 5; i++) {
      assertThat(text(stream(provider))).isEqualTo("Hello");
      Thread.sleep(100);
    }
    // Requests after the first went out on the idle pooled connection, met its drop and
    // were answered on a new one; only those were sent twice.
    assertThat(upstream.dropped.get()).isGreaterThanOrEqualTo(3);
    assertThat(upstream.requests.get()).isEqualTo(5 + upstream.dropped.get());
  }

  @Test
  void aWholeAnswerWhosePooledConnectionWasClosedUnderItIsSentAgainOnAFreshOne() throws Exception {
    upstream = new OneAnswerPerConnection(200);
    OpenAiProvider provider = provider();
    for (int i = 0; i < 3; i++) {
      ChatResult result = provider.complete(new ChatRequest("m", List.of(ChatMessage.user("hi")), null))
          .toCompletableFuture().get();
      assertThat(result.content()).isEqualTo("Hello");
      Thread.sleep(100);
    }
    assertThat(upstream.dropped.get()).isGreaterThanOrEqualTo(1);
    assertThat(upstream.requests.get()).isEqualTo(3 + upstream.dropped.get());
  }

  @Test
  void anAnsweredFailureIsNeverSentAgain() throws Exception {
    upstream = new OneAnswerPerConnection(503);
    assertThatThrownBy(() -> stream(provider())).cause().isInstanceOfSatisfying(ProviderException.class,
        e -> assertThat(e.status()).isEqualTo(503));
    assertThat(upstream.requests.get()).isEqualTo(1);
  }

  /** Answers the first request of every connection; drops the connection when its second request comes. */
  static final class OneAnswerPerConnection implements AutoCloseable {
    final ServerSocket server;
    final int status;
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger dropped = new AtomicInteger();
    final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

    OneAnswerPerConnection(int status) throws IOException {
      this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      this.status = status;
      Thread accept = new Thread(this::accept, "upstream-accept");
      accept.setDaemon(true);
      accept.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          sockets.add(socket);
          connections.incrementAndGet();
          Thread t = new Thread(() -> serve(socket), "upstream-connection");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private void serve(Socket socket) {
      try (socket; InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
        String head = readRequest(in);
        if (head == null) {
          return;
        }
        requests.incrementAndGet();
        boolean stream = head.contains("\"stream\":true");
        byte[] body = (status != 200
            ? "{\"error\":{\"message\":\"unavailable\"}}"
            : stream ? "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
            : "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},"
                + "\"finish_reason\":\"stop\"}]}").getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: " + (stream && status == 200 ? "text/event-stream"
            : "application/json") + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        if (readRequest(in) != null) {
          requests.incrementAndGet();
          dropped.incrementAndGet();
        }
        // Closed without answering: the request met a connection its server had given up.
      } catch (IOException e) {
        // the client went away
      }
    }

    /** The request's head and body as text, or null when the connection ended first. */
    private static String readRequest(InputStream in) throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int b;
      while ((b = in.read()) >= 0) {
        head.write(b);
        byte[] h = head.toByteArray();
        int n = h.length;
        if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
          break;
        }
      }
      if (b < 0) {
        return null;
      }
      String text = head.toString(StandardCharsets.US_ASCII);
      int length = 0;
      for (String line : text.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      byte[] body = in.readNBytes(length);
      return text + new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }
}
