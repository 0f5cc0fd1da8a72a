package dev.atrium.core.secrets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TTL cache over environment variables, files and a secrets manager, on a clock the test moves. */
class SecretsTest {
  static final Duration TTL = Duration.ofMinutes(5);

  @TempDir Path dir;

  /** A clock the test moves by hand. */
  static final class StepClock extends Clock {
    Instant now = Instant.parse("2026-12-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  /** A store whose values the test sets, counting lookups, failing while {@code down}. */
  static final class Store implements SecretStore {
    final Map<String, String> values = new HashMap<>();
    final AtomicInteger lookups = new AtomicInteger();
    volatile boolean down;

    @Override
    public Optional<String> fetch(String name) {
      lookups.incrementAndGet();
      if (down) {
        throw new SecretException("the store is down for " + name);
      }
      return Optional.ofNullable(values.get(name));
    }
  }

  final StepClock clock = new StepClock();
  final Store store = new Store();
  final Map<String, String> env = new HashMap<>();
  final Secrets secrets = new Secrets(name -> Optional.ofNullable(env.get(name)), store, TTL, clock);

  @Test
  void aRotatedFileIsUsedOnceItsEntryExpiresAndNotBefore() throws Exception {
    Path file = dir.resolve("key");
    Files.writeString(file, "sk-old\n");
    SecretRef ref = SecretRef.file(file.toString());
    assertThat(secrets.resolve(ref)).contains("sk-old");

    Files.writeString(file, "sk-new");
    clock.advance(TTL.minusSeconds(1));
    assertThat(secrets.resolve(ref)).as("cached within the TTL").contains("sk-old");
    clock.advance(Duration.ofSeconds(1));
    assertThat(secrets.resolve(ref)).as("re-read when the TTL ends").contains("sk-new");
  }

  @Test
  void aStaleValueIsServedWhileOneRefreshRunsOffTheCallersThread() {
    java.util.ArrayDeque<Runnable> queued = new java.util.ArrayDeque<>();
    Secrets background = new Secrets(name -> Optional.empty(), store, TTL, clock, queued::add);
    store.values.put("prod/openai", "sk-one");
    SecretRef ref = SecretRef.awsSecret("prod/openai", null);
    assertThat(background.resolve(ref)).as("the first read is made at once").contains("sk-one");
    assertThat(queued).isEmpty();

    store.values.put("prod/openai", "sk-two");
    clock.advance(TTL);
    for (int i = 0; i < 5; i++) {
      assertThat(background.resolve(ref)).as("stale, while the refresh waits").contains("sk-one");
    }
    assertThat(queued).as("one refresh for five stale lookups").hasSize(1);
    assertThat(store.lookups).as("no lookup read the store itself").hasValue(1);
    queued.poll().run();
    assertThat(store.lookups).hasValue(2);
    assertThat(background.resolve(ref)).contains("sk-two");
    assertThat(queued).isEmpty();
  }

  @Test
  void aMissingOrEmptyFileIsNoKey() throws Exception {
    assertThat(secrets.resolve(SecretRef.file(dir.resolve("absent").toString()))).isEmpty();
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    assertThat(secrets.resolve(SecretRef.file(empty.toString()))).isEmpty();
  }

  @Test
  void aStoreSecretIsReadOncePerTtlAndItsRotationSeen() {
    store.values.put("prod/openai", "sk-one");
    SecretRef ref = SecretRef.awsSecret("prod/openai", null);
    assertThat(secrets.resolve(ref)).contains("sk-one");
    assertThat(secrets.resolve(ref)).contains("sk-one");
    assertThat(store.lookups).hasValue(1);

    store.values.put("prod/openai", "sk-two");
    clock.advance(TTL);
    assertThat(secrets.resolve(ref)).contains("sk-two");
    assertThat(store.lookups).hasValue(2);
  }

  @Test
  void aJsonSecretGivesTheNamedField() {
    store.values.put("prod/keys", "{\"openai\": \"sk-json\", \"other\": \"x\"}");
    assertThat(secrets.resolve(SecretRef.awsSecret("prod/keys", "openai"))).contains("sk-json");
    assertThatThrownBy(() -> secrets.resolve(SecretRef.awsSecret("prod/keys", "absent")))
        .isInstanceOf(SecretException.class).hasMessageContaining("no string field 'absent'")
        .hasMessageNotContaining("sk-json");
  }

  @Test
  void aSecretThatIsNotJsonNamesNoValueWhenAFieldIsAsked() {
    store.values.put("plain", "sk-plain-value");
    assertThatThrownBy(() -> secrets.resolve(SecretRef.awsSecret("plain", "f")))
        .isInstanceOf(SecretException.class).hasMessageNotContaining("sk-plain-value");
  }

  @Test
  void aFailedRefreshKeepsTheLastValueAndRetriesAfterAnotherTtl() {
    store.values.put("s", "sk-kept");
    SecretRef ref = SecretRef.awsSecret("s", null);
    assertThat(secrets.resolve(ref)).contains("sk-kept");
    store.down = true;
    clock.advance(TTL);
    assertThat(secrets.resolve(ref)).contains("sk-kept");
    assertThat(secrets.resolve(ref)).contains("sk-kept");
    assertThat(store.lookups).as("not asked again until the next TTL").hasValue(2);
    store.down = false;
    store.values.put("s", "sk-back");
    clock.advance(TTL);
    assertThat(secrets.resolve(ref)).contains("sk-back");
  }

  @Test
  void aFailureWithNoEarlierValueFailsAndNoStoreConfiguredSaysSo() {
    store.down = true;
    assertThatThrownBy(() -> secrets.resolve(SecretRef.awsSecret("s", null)))
        .isInstanceOf(SecretException.class).hasMessageContaining("down for s");
    assertThatThrownBy(() -> Secrets.of(name -> Optional.empty()).resolve(SecretRef.awsSecret("s", null)))
        .isInstanceOf(SecretException.class).hasMessageContaining("no secrets manager is configured");
  }

  @Test
  void environmentVariablesAreCachedToo() {
    env.put("K", "sk-env");
    SecretRef ref = SecretRef.env("K");
    assertThat(secrets.resolve(ref)).contains("sk-env");
    env.put("K", "");
    clock.advance(TTL);
    assertThat(secrets.resolve(ref)).as("an empty variable is no key").isEmpty();
  }

  @Test
  void noStringFormHoldsAValue() {
    store.values.put("s", "sk-hidden");
    SecretRef ref = SecretRef.awsSecret("s", "f");
    assertThat(ref).hasToString("aws_secret:s#f");
    assertThat(SecretRef.env("K")).hasToString("env:K");
    store.values.put("t", "sk-hidden");
    secrets.resolve(SecretRef.awsSecret("t", null));
    assertThat(secrets.toString()).doesNotContain("sk-hidden");
    assertThatThrownBy(() -> new SecretRef(SecretRef.Kind.ENV, "K", "f"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
