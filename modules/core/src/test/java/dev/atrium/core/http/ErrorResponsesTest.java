package dev.atrium.core.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atrium.core.Json;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.HttpEntity;
import org.junit.jupiter.api.Test;

/** Which paths answer in which error shape, and Anthropic's shape for every status. */
class ErrorResponsesTest {

  @Test
  void theMessagesPathsAnswerInAnthropicsShape() {
    assertThat(ErrorShape.forPath("/v1/messages")).isEqualTo(ErrorShape.ANTHROPIC);
    assertThat(ErrorShape.forPath("/v1/messages/")).isEqualTo(ErrorShape.ANTHROPIC);
    assertThat(ErrorShape.forPath("/v1/messages/count_tokens")).isEqualTo(ErrorShape.ANTHROPIC);
    assertThat(ErrorShape.forPath("/v1/chat/completions")).isEqualTo(ErrorShape.OPENAI);
    assertThat(ErrorShape.forPath("/v1/chat/sessions/s_1/messages")).isEqualTo(ErrorShape.PROBLEM);
  }

  @Test
  void writesAnthropicsErrorObjectWithTheRequestId() throws Exception {
    HttpResponse response = ErrorResponses.render(ErrorShape.ANTHROPIC, StatusCodes.TOO_MANY_REQUESTS,
        "budget_exceeded", "Over budget.", "req_1", "/v1/messages", Map.of("param", "x"), List.of());
    JsonNode body = Json.MAPPER.readTree(((HttpEntity.Strict) response.entity()).data().utf8String());
    assertThat(body).isEqualTo(Json.MAPPER.readTree(
        "{\"type\": \"error\", \"error\": {\"type\": \"rate_limit_error\", \"message\": \"Over budget.\"},"
            + " \"request_id\": \"req_1\"}"));
    assertThat(response.entity().getContentType().toString()).isEqualTo("application/json");
  }

  @Test
  void everyStatusHasAnAnthropicType() {
    Map<Integer, String> expected = Map.ofEntries(Map.entry(400, "invalid_request_error"),
        Map.entry(401, "authentication_error"), Map.entry(403, "permission_error"), Map.entry(404, "not_found_error"),
        Map.entry(405, "invalid_request_error"), Map.entry(409, "invalid_request_error"),
        Map.entry(413, "request_too_large"), Map.entry(429, "rate_limit_error"), Map.entry(500, "api_error"),
        Map.entry(502, "api_error"), Map.entry(503, "overloaded_error"), Map.entry(504, "api_error"),
        Map.entry(529, "overloaded_error"));
    expected.forEach((status, type) -> assertThat(ErrorResponses.anthropicType(status)).as("%d", status).isEqualTo(type));
  }
}
