package dev.atrium.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The embedded default: no network, no model. It streams, token by token, an honest answer
 * saying that no language model is configured for the tenant and how to configure one,
 * so every route works end to end on a laptop without pretending to be intelligent.
 */
public final class LocalProvider implements ModelProvider {
  private static final Pattern PIECES = Pattern.compile("\\S+\\s*");

  private final String tenantId;

  public LocalProvider(String tenantId) {
    this.tenantId = tenantId;
  }

  /** The answer text for a prompt whose last user message is {@code question}. */
  String answer(String question) {
    String quoted = question.length() > 80 ? question.substring(0, 77) + "..." : question;
    return "This is Atrium's local responder: no language model is configured for tenant '" + tenantId
        + "', so I cannot answer \"" + quoted.strip() + "\". To get real answers, add a provider of type "
        + "\"openai\" (any OpenAI-compatible server: OpenAI, vLLM, Ollama, llama.cpp, a gateway) with its "
        + "base_url and the name of the environment variable holding its key (api_key_env) under \"models\" "
        + "in tenants/" + tenantId + ".json, route a model to it, and restart Atrium.";
  }

  static List<String> pieces(String text) {
    List<String> pieces = new ArrayList<>();
    Matcher m = PIECES.matcher(text);
    while (m.find()) {
      pieces.add(m.group());
    }
    return pieces;
  }

  private static String lastUserText(ChatRequest request) {
    for (int i = request.messages().size() - 1; i >= 0; i--) {
      ChatMessage message = request.messages().get(i);
      if ("user".equals(message.role())) {
        return message.text();
      }
    }
    return "";
  }

  /** With passages: an extract of them, cited; without: the honest no-model answer. */
  String answerFor(ChatRequest request) {
    String question = lastUserText(request);
    if (!request.passages().isEmpty()) {
      String extract = Extractive.answer(question, request.passages(), 3);
      return "From your documents (no language model is configured, so this is an extract): " + extract;
    }
    return answer(question);
  }

  @Override
  public Source<ChatEvent, NotUsed> stream(ChatRequest request) {
    return Source.lazySource(() -> {
      String text = answerFor(request);
      List<ChatEvent> events = new ArrayList<>();
      for (String piece : pieces(text)) {
        events.add(ChatEvent.Delta.text(piece));
      }
      events.add(new ChatEvent.Finish("stop"));
      events.add(new ChatEvent.Usage(Tokens.countMessages(request.messages()), Tokens.count(text)));
      return Source.from(events);
    }).mapMaterializedValue(f -> NotUsed.getInstance());
  }

  @Override
  public CompletionStage<ChatResult> complete(ChatRequest request) {
    String text = answerFor(request);
    return CompletableFuture.completedFuture(new ChatResult(ChatMessage.assistant(text), "stop",
        new ChatEvent.Usage(Tokens.countMessages(request.messages()), Tokens.count(text))));
  }

  @Override
  public String label() {
    return "local";
  }
}
