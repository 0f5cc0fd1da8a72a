package dev.atrium.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.Json;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.ChatRequest;
import dev.atrium.gateway.OpenAiMessages;
import dev.atrium.gateway.Passage;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The response cache's key: what makes two requests one, and what keeps them apart. */
class CacheKeyTest {
  static final List<ChatMessage> MESSAGES = List.of(ChatMessage.system("Be brief."), ChatMessage.user("What is 2 + 2?"));

  static ObjectNode options(String json) {
    try {
      return (ObjectNode) Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static CacheKey key(String tenant, String model, List<ChatMessage> messages, String options) {
    return CacheKey.of(tenant, model, new ChatRequest(model, messages, options(options)));
  }

  @Test
  void membersInAnotherOrderAndNumbersSpelledAnotherWayGiveTheSameKey() {
    CacheKey a = key("t", "m", MESSAGES,
        "{\"temperature\": 1, \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"strict\": true}}}");
    CacheKey b = key("t", "m", MESSAGES,
        "{\"response_format\": {\"json_schema\": {\"strict\": true, \"name\": \"x\"}, \"type\": \"json_schema\"}, \"temperature\": 1.00}");
    assertThat(a).isEqualTo(b);
    assertThat(a.hash()).hasSize(64).matches("[0-9a-f]{64}");
  }

  @Test
  void optionsThatDoNotChangeTheAnswerAreLeftOut() {
    CacheKey plain = key("t", "m", MESSAGES, "{\"temperature\": 0}");
    CacheKey labelled = key("t", "m", MESSAGES, "{\"temperature\": 0, \"stream\": true, "
        + "\"stream_options\": {\"include_usage\": true}, \"user\": \"u-1\", \"metadata\": {\"run\": \"7\"}}");
    assertThat(labelled).isEqualTo(plain);
    assertThat(key("t", "m", MESSAGES, "{}")).isEqualTo(CacheKey.of("t", "m", new ChatRequest("m", MESSAGES, null)));
  }

  @Test
  void optionsThatChangeTheAnswerMakeAnotherKey() {
    CacheKey base = key("t", "m", MESSAGES, "{\"temperature\": 0}");
    assertThat(key("t", "m", MESSAGES, "{\"temperature\": 0.5}")).isNotEqualTo(base);
    assertThat(key("t", "m", MESSAGES, "{\"temperature\": 0, \"max_tokens\": 10}")).isNotEqualTo(base);
    assertThat(key("t", "m", MESSAGES, "{\"temperature\": 0, \"seed\": 1}")).isNotEqualTo(base);
    assertThat(key("t", "m", MESSAGES, "{\"temperature\": 0, \"tools\": [{\"type\": \"function\"}]}"))
        .isNotEqualTo(base);
  }

  @Test
  void theTenantTheModelAndTheMessagesAreEachPartOfIt() {
    CacheKey base = key("t", "m", MESSAGES, "{}");
    assertThat(key("u", "m", MESSAGES, "{}")).isNotEqualTo(base);
    assertThat(key("u", "m", MESSAGES, "{}").hash()).isNotEqualTo(base.hash());
    assertThat(key("t", "n", MESSAGES, "{}").hash()).isNotEqualTo(base.hash());
    assertThat(key("t", "m", List.of(ChatMessage.user("What is 2 + 2?")), "{}").hash()).isNotEqualTo(base.hash());
    assertThat(key("t", "m", List.of(ChatMessage.system("Be brief."), ChatMessage.user("What is 2 + 3?")), "{}").hash())
        .isNotEqualTo(base.hash());
    // The role is part of a message.
    assertThat(key("t", "m", List.of(ChatMessage.system("Be brief."), ChatMessage.assistant("What is 2 + 2?")), "{}")
        .hash()).isNotEqualTo(base.hash());
  }

  @Test
  void retrievedPassagesArePartOfThePromptAndSoOfTheKey() {
    var passage = new Passage(1, "d1", "c1", "notes.md", "Two and two make four.", 0.9);
    var other = new Passage(1, "d1", "c2", "notes.md", "Two and two make five.", 0.9);
    CacheKey without = CacheKey.of("t", "m", new ChatRequest("m", MESSAGES, null));
    CacheKey with = CacheKey.of("t", "m", new ChatRequest("m", MESSAGES, null, List.of(passage)));
    assertThat(with.hash()).isNotEqualTo(without.hash());
    assertThat(CacheKey.of("t", "m", new ChatRequest("m", MESSAGES, null, List.of(other))).hash())
        .isNotEqualTo(with.hash());
  }

  @Test
  void aPromptCachingHintIsNotPartOfIt() throws IOException {
    ChatMessage hinted = OpenAiMessages.read(Json.MAPPER.readTree(
        "{\"role\": \"user\", \"content\": \"What is 2 + 2?\", \"cache_control\": {\"type\": \"ephemeral\", \"ttl\": \"1h\"}}"));
    assertThat(hinted.cacheControl()).isEqualTo(new ChatMessage.CacheControl("ephemeral", "1h"));
    assertThat(key("t", "m", List.of(MESSAGES.get(0), hinted), "{}")).isEqualTo(key("t", "m", MESSAGES, "{}"));
  }

  @Test
  void itsTextNeverShowsTheHash() {
    CacheKey key = key("t", "m", MESSAGES, "{}");
    assertThat(key.toString()).doesNotContain(key.hash()).contains("t", "m");
    assertThat(key.bytes()).hasSize(32);
  }
}
