package dev.atrium.core.entity;

import java.time.Duration;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.SupervisorStrategy;

/** How every entity restarts after a failure (the journal or store down, a bug). */
public final class Supervision {
  private Supervision() {}

  /**
   * Restart after 200 ms, doubling up to 5 s, with 10 % jitter: a store that is down is not
   * hammered, and entities that failed together do not come back together.
   */
  public static BackoffSupervisorStrategy entityDefault() {
    return ENTITY_DEFAULT;
  }

  /** One instance for every entity: a strategy is immutable, and each copy costs every entity in memory. */
  private static final BackoffSupervisorStrategy ENTITY_DEFAULT =
      SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1);
}
