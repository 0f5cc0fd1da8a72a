package dev.atrium.runs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.entity.Reply;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** How a sub-step's failure is classified: retried or not. */
class RunFailureTest {

  @Test
  void aTimeoutUnderWrappedStagesIsRetried() {
    RunFailure failure = RunFailure.of(new CompletionException(new CompletionException(new TimeoutException("slow"))));
    assertThat(failure.retryable()).isTrue();
    assertThat(failure.getMessage()).isEqualTo("TimeoutException: slow");
  }

  @Test
  void aBusinessFailureStaysAsItIs() {
    RunFailure business = RunFailure.business("invalid item");
    assertThat(RunFailure.of(new CompletionException(business))).isSameAs(business);
    assertThat(RunFailure.of(new IllegalStateException("bug")).retryable()).isFalse();
  }

  @Test
  void anEntitysRejectionIsABusinessFailureAndItsAcceptanceTheValue() {
    assertThat(RunFailure.acceptedOrFail(Reply.accepted("ok"))).isEqualTo("ok");
    assertThatThrownBy(() -> RunFailure.acceptedOrFail(Reply.notFound("No such document.")))
        .isInstanceOfSatisfying(RunFailure.class, f -> assertThat(f.retryable()).isFalse())
        .hasMessage("No such document.");
  }
}
