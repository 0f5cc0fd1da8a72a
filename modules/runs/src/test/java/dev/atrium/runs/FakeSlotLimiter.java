package dev.atrium.runs;

import dev.atrium.core.limits.RateLimiter;
import dev.atrium.core.limits.StreamSlot;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

/**
 * A slot pool in memory with the {@link RateLimiter} contract (a held id is granted again, a
 * renewal takes a lost slot back past the cap; leases never run out), counting every call
 * per slot id, and able to stop answering as a limiter whose bucket is moving.
 */
final class FakeSlotLimiter implements RateLimiter {
  private final Set<String> held = new LinkedHashSet<>();
  private final Set<String> everGranted = new LinkedHashSet<>();
  private final Map<String, Integer> calls = new HashMap<>();
  private boolean answering = true;

  @Override
  public CompletionStage<Decision> check(Principal principal, RouteClass routeClass, int tokens) {
    return UNLIMITED.check(principal, routeClass, tokens);
  }

  @Override
  public CompletionStage<StreamSlot> openStream(Principal principal, RouteClass routeClass) {
    return UNLIMITED.openStream(principal, routeClass);
  }

  @Override
  public synchronized CompletionStage<Boolean> acquireSlot(String tenantId, String pool, String slotId, int cap,
      Duration lease) {
    count("ask", slotId);
    if (!answering) {
      return CompletableFuture.failedFuture(new TimeoutException("bucket moving"));
    }
    boolean granted = held.contains(slotId) || held.size() < cap;
    if (granted) {
      held.add(slotId);
      everGranted.add(slotId);
    } else {
      count("denied", slotId);
    }
    return CompletableFuture.completedFuture(granted);
  }

  @Override
  public synchronized void renewSlot(String tenantId, String pool, String slotId, Duration lease) {
    count("hold", slotId);
    held.add(slotId);
  }

  @Override
  public synchronized void releaseSlot(String tenantId, String pool, String slotId) {
    count("release", slotId);
    held.remove(slotId);
  }

  private void count(String call, String slotId) {
    calls.merge(call + "/" + slotId, 1, Integer::sum);
  }

  synchronized int calls(String call, String slotId) {
    return calls.getOrDefault(call + "/" + slotId, 0);
  }

  synchronized Set<String> held() {
    return Set.copyOf(held);
  }

  synchronized boolean everGranted(String slotId) {
    return everGranted.contains(slotId);
  }

  synchronized void answering(boolean answering) {
    this.answering = answering;
  }

  /** As a limits node that crashed before writing this slot. */
  synchronized void lose(String slotId) {
    held.remove(slotId);
  }
}
