package dev.atrium.core.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.entity.Reply;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The one mapper from entity replies to HTTP: the statuses routes answered before typed replies. */
class RepliesTest {

  static ApiError mapped(Reply<String> reply) {
    try {
      Replies.value(reply);
    } catch (ApiError e) {
      return e;
    }
    throw new AssertionError("not rejected: " + reply);
  }

  @Test
  void eachRejectionIsItsStatusWithItsCodeAndDetail() {
    ApiError notFound = mapped(Reply.notFound("No such session."));
    assertThat(notFound.status().intValue()).isEqualTo(404);
    assertThat(notFound.code()).isEqualTo("not_found");
    assertThat(notFound.getMessage()).isEqualTo("No such session.");

    ApiError conflict = mapped(Reply.conflict("run_finished", "The run has finished already."));
    assertThat(conflict.status().intValue()).isEqualTo(409);
    assertThat(conflict.code()).isEqualTo("run_finished");

    ApiError invalid = mapped(Reply.invalid("invalid_request", "limit must be positive"));
    assertThat(invalid.status().intValue()).isEqualTo(400);
    assertThat(invalid.code()).isEqualTo("invalid_request");

    ApiError unavailable = mapped(Reply.unavailable("job_unavailable", "The database is unavailable."));
    assertThat(unavailable.status().intValue()).isEqualTo(503);
    assertThat(unavailable.code()).isEqualTo("job_unavailable");
  }

  @Test
  void anAcceptedReplyIsItsValue() {
    assertThat(Replies.value(Reply.accepted("view"))).isEqualTo("view");
    assertThat(Replies.<String>value(Reply.ok())).isNull();
  }

  @Test
  void noAnswerInTimeIs503NamingTheEntityAndOtherFailuresPassThrough() {
    RuntimeException timeout = Replies.failure(new CompletionException(new TimeoutException("ask timed out")), "run");
    assertThat(timeout).isInstanceOf(ApiError.class);
    assertThat(((ApiError) timeout).status().intValue()).isEqualTo(503);
    assertThat(timeout.getMessage()).startsWith("The run did not answer in time");

    ApiError already = ApiError.badRequest("x", "y");
    assertThat(Replies.failure(new CompletionException(already), "run")).isSameAs(already);
    IllegalStateException bug = new IllegalStateException("bug");
    assertThat(Replies.failure(bug, "run")).isSameAs(bug);
  }

  @Test
  void aRejectionThrownByOrElseThrowNamesItsCode() {
    assertThatThrownBy(() -> Reply.<String>conflict("session_exists", "exists").orElseThrow())
        .hasMessageContaining("session_exists");
  }
}
