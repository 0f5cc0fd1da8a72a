package dev.atrium.core.secrets;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import dev.atrium.core.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves {@link SecretRef}s to their current values, each cached for a TTL (5 minutes by
 * default, the rotation delay the plan accepts): a rotated file or Secrets Manager value is
 * used by the first lookup after its entry expires, without a restart, and a secret is read
 * at most once per TTL however many calls use it. A refresh that fails after a value was
 * known keeps serving the last value (a secrets manager outage does not stop every call)
 * and is retried at the next lookup after another TTL; one that never succeeded fails.
 * Once a value is known, a refresh runs on {@code refresher} (the server's blocking
 * dispatcher: a Secrets Manager call must not hold a request's thread), one at a time per
 * secret, while lookups keep the value they had; only a secret's first read is made on the
 * caller's thread. With a direct executor (tests) a refresh completes inside the lookup.
 * A file's value is its content without trailing line breaks (Kubernetes Secrets mounted
 * from {@code kubectl create secret --from-file} often end with one). Nothing here logs
 * or throws a value: messages name the place only.
 */
public final class Secrets {
  private static final Logger log = LoggerFactory.getLogger(Secrets.class);
  public static final Duration DEFAULT_TTL = Duration.ofMinutes(5);

  private final Function<String, Optional<String>> environment;
  private final SecretStore store;
  private final Duration ttl;
  private final Clock clock;
  private final Executor refresher;
  private final Map<SecretRef, Entry> cache = new ConcurrentHashMap<>();
  /** The secrets whose refresh is under way: one per secret however many lookups find it stale. */
  private final Set<SecretRef> refreshing = ConcurrentHashMap.newKeySet();

  private record Entry(Optional<String> value, Instant expires) {
    @Override
    public String toString() {
      return "Entry[" + (value.isPresent() ? "set" : "unset") + ", expires " + expires + "]";
    }
  }

  /** Refreshes inside the lookup that finds a value stale (tools and tests). */
  public Secrets(Function<String, Optional<String>> environment, SecretStore store, Duration ttl, Clock clock) {
    this(environment, store, ttl, clock, Runnable::run);
  }

  public Secrets(Function<String, Optional<String>> environment, SecretStore store, Duration ttl, Clock clock,
      Executor refresher) {
    this.environment = environment;
    this.store = store;
    this.ttl = ttl;
    this.clock = clock;
    this.refresher = refresher;
  }

  /** Environment variables and files only, with the default TTL (no secrets manager). */
  public static Secrets of(Function<String, Optional<String>> environment) {
    return new Secrets(environment, SecretStore.NONE, DEFAULT_TTL, Clock.systemUTC());
  }

  /**
   * From {@code atrium.secrets} ({@code ttl}; {@code aws.region}, {@code aws.endpoint}),
   * the process environment and the system clock.
   */
  public static Secrets fromConfig(Config secrets, Function<String, Optional<String>> environment,
      Executor refresher) {
    return new Secrets(environment, AwsSecretsManager.fromConfig(secrets.getConfig("aws")),
        secrets.getDuration("ttl"), Clock.systemUTC(), refresher);
  }

  /**
   * The secret's value now: the cached one until its TTL ends, then read again. Empty when
   * the variable is unset or empty, or the file or secret does not exist.
   *
   * @throws SecretException when it cannot be read and no earlier value is known
   */
  public Optional<String> resolve(SecretRef ref) {
    Entry entry = cache.get(ref);
    if (entry != null && clock.instant().isBefore(entry.expires())) {
      return entry.value();
    }
    if (entry == null || entry.value().isEmpty()) {
      // Nothing to serve meanwhile: read now (a secret's first use, or one still unset).
      return refresh(ref, entry);
    }
    if (refreshing.add(ref)) {
      try {
        refresher.execute(() -> {
          try {
            refresh(ref, entry);
          } catch (RuntimeException e) {
            log.warn("Could not refresh the secret {} ({})", ref, e.getClass().getSimpleName());
          } finally {
            refreshing.remove(ref);
          }
        });
      } catch (RuntimeException rejected) {
        refreshing.remove(ref);
      }
    }
    // The refreshed value if the refresh is done already (a direct executor), else the last one.
    Entry now = cache.get(ref);
    return now != null ? now.value() : entry.value();
  }

  /** Reads {@code ref} and caches what it read; a failure keeps {@code previous}'s value if it had one. */
  private Optional<String> refresh(SecretRef ref, Entry previous) {
    Instant now = clock.instant();
    Optional<String> value;
    try {
      value = read(ref);
    } catch (SecretException e) {
      if (previous == null || previous.value().isEmpty()) {
        throw e;
      }
      log.warn("Could not refresh the secret {}; the last value stays in use ({})", ref, e.getMessage());
      cache.put(ref, new Entry(previous.value(), now.plus(ttl)));
      return previous.value();
    }
    if (previous != null && previous.value().isPresent() && !previous.value().equals(value)) {
      log.info("The secret {} changed; the new value is in use", ref);
    }
    cache.put(ref, new Entry(value, now.plus(ttl)));
    return value;
  }

  /** Reads the secret now, bypassing the cache (for checks at load). */
  public Optional<String> read(SecretRef ref) {
    return switch (ref.kind()) {
      case ENV -> environment.apply(ref.name()).filter(v -> !v.isEmpty());
      case FILE -> readFile(ref);
      case AWS_SECRET -> store.fetch(ref.name()).flatMap(s -> field(ref, s));
    };
  }

  private static Optional<String> readFile(SecretRef ref) {
    try {
      String content = Files.readString(Path.of(ref.name()), StandardCharsets.UTF_8);
      int end = content.length();
      while (end > 0 && (content.charAt(end - 1) == '\n' || content.charAt(end - 1) == '\r')) {
        end--;
      }
      return end == 0 ? Optional.empty() : Optional.of(content.substring(0, end));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new SecretException("the secret file " + ref.name() + " cannot be read: " + e.getClass().getSimpleName());
    }
  }

  private static Optional<String> field(SecretRef ref, String secretString) {
    if (ref.field() == null) {
      return Optional.of(secretString).filter(v -> !v.isEmpty());
    }
    JsonNode node;
    try {
      node = Json.MAPPER.readTree(secretString);
    } catch (IOException e) {
      // The parser's message may quote the value: never passed on.
      throw new SecretException("the secret " + ref.name() + " is not a JSON object, so it has no field '"
          + ref.field() + "'");
    }
    JsonNode value = node == null ? null : node.get(ref.field());
    if (value == null || !value.isTextual()) {
      throw new SecretException("the secret " + ref.name() + " has no string field '" + ref.field() + "'");
    }
    return Optional.of(value.asText()).filter(v -> !v.isEmpty());
  }

  /** Closes the store's client if it holds one (the AWS SDK's HTTP client); lookups of cached values still work. */
  public void close() {
    if (store instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        log.warn("Could not close the secret store ({})", e.getClass().getSimpleName());
      }
    }
  }

  @Override
  public String toString() {
    return "Secrets[ttl " + ttl + ", " + cache.size() + " cached]";
  }
}
