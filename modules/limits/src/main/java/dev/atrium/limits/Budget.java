package dev.atrium.limits;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.entity.Reply;
import dev.atrium.core.entity.Supervision;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.state.javadsl.DurableStateUpdateStore;

/**
 * One tenant's budgets (entity id {@code tenantId}), or the installation's
 * ({@value #INSTALLATION}): every scope of it — the tenant, each account, each key — per day
 * and per month, in tokens and in spend, with the open reservations. Like
 * {@link TokenBucket} it serves from memory and writes its settled totals through the
 * durable-state store at most once a second while they change, and when it stops. When it
 * starts (a crash, a hand-off, a passivation) it reads its last write and then re-derives
 * each current period's settled totals from {@code usage_events}, keeping the larger of the
 * two; reservations are never written, so those of a lost node are dropped (their calls
 * settle through usage rows, which the derivation reads). Caps come with every reservation,
 * so a changed tenant file applies at once; the last caps seen of the tenant scope feed the
 * node's {@code atrium_budget_used_ratio} gauges while the entity lives here.
 */
public final class Budget {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Budget");
  /** The entity of the installation-wide caps; tenant ids never start with '_'. */
  public static final String INSTALLATION = "_installation";
  static final String TENANT_SCOPE = "tenant";
  static final String INSTALLATION_SCOPE = "installation";
  private static final Duration WRITE_INTERVAL = Duration.ofSeconds(1);
  private static final Duration DERIVE_RETRY = Duration.ofSeconds(1);
  private static final int STOP_WRITES = 3;
  private static final String NO_SUCH_BUDGET = "No such budget.";

  // ---- protocol -------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable
      permits Reserve, Settle, Release, Inspect, Reset, Stop, Loaded, Derived, Rederive, Flush, Written {}

  /**
   * Hold {@code tokens} and {@code microUsd} in every scope of {@code scopes} (those with
   * caps), all or nothing, until {@code expiresAfter} from now unless settled or released.
   */
  public record Reserve(String budgetId, String reservationId, List<BudgetBook.ScopeCaps> scopes, long tokens,
      long microUsd, boolean spendOptional, Duration expiresAfter, ActorRef<Verdict> replyTo) implements Command {}

  /**
   * A call used {@code tokens} and {@code microUsd}, starting at {@code at}: added to each of
   * {@code scopes}; the reservation {@code reservationId} (null: the call held none) is dropped.
   */
  public record Settle(String budgetId, String reservationId, List<String> scopes, long tokens, long microUsd,
      Instant at) implements Command {}

  public record Release(String budgetId, String reservationId) implements Command {}

  /** The lines now; rejected as not found for another budget. */
  public record Inspect(String budgetId, ActorRef<Reply<View>> replyTo) implements Command {}

  /** A scope's period starts again now with nothing settled; rejected as not found for another budget. */
  public record Reset(String budgetId, String scope, String period, ActorRef<Reply<Done>> replyTo) implements Command {}

  public enum Stop implements Command { INSTANCE }

  record Loaded(Optional<Snapshot> snapshot, long revision, String failure) implements Command {}

  record Derived(List<BudgetUsage.Derived> lines, String failure) implements Command {}

  enum Rederive implements Command { INSTANCE }

  enum Flush implements Command { INSTANCE }

  record Written(long revision, Instant at, String failure) implements Command {}

  /** Granted (with or without the spend held), or denied naming the scope, period and measure. */
  public record Verdict(boolean granted, boolean spendHeld, String scope, String period, String measure, long cap,
      double hardLimitRatio, long used, Instant resetsAt) implements JsonSerializable {}

  /** One line as the admin view shows it. */
  public record LineView(String scope, String period, String periodKey, long settledTokens, long settledMicroUsd,
      long heldTokens, long heldMicroUsd, Instant periodStart, Instant resetsAt, Instant resetAt)
      implements JsonSerializable {}

  public record View(String budgetId, List<LineView> lines, int openReservations, Instant lastWrite, long revision)
      implements JsonSerializable {
    public View {
      lines = List.copyOf(lines);
    }
  }

  /** What is written to the durable-state store: settled totals only, never reservations. */
  public record Snapshot(List<BudgetBook.SavedLine> lines, Instant lastWrite) implements JsonSerializable {
    public Snapshot {
      lines = List.copyOf(lines);
    }
  }

  // ---- wiring ---------------------------------------------------------------------------

  static void init(ActorSystem<?> system, BudgetUsage.Source usage, BudgetGauges gauges) {
    DurableStateUpdateStore<Object> store = TokenBucket.store(system);
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY,
            ctx -> create(ctx.getEntityId(), store, usage, gauges, Clock.systemUTC()))
        .withStopMessage(Stop.INSTANCE));
  }

  static Behavior<Command> create(String budgetId, DurableStateUpdateStore<Object> store, BudgetUsage.Source usage,
      BudgetGauges gauges, Clock clock) {
    return Behaviors.<Command>supervise(Behaviors.setup(ctx -> Behaviors.withStash(10_000, stash ->
            Behaviors.withTimers(timers -> {
              timers.startTimerWithFixedDelay(Flush.INSTANCE, WRITE_INTERVAL);
              return new Budget(ctx, stash, timers, budgetId, store, usage, gauges, clock).loading();
            }))))
        .onFailure(Supervision.entityDefault());
  }

  // ---- context --------------------------------------------------------------------------

  private final ActorContext<Command> ctx;
  private final StashBuffer<Command> stash;
  private final TimerScheduler<Command> timers;
  private final String budgetId;
  private final WriteBehindStore store;
  private final BudgetUsage.Source usage;
  private final BudgetGauges gauges;
  private final Clock clock;
  /** The caps each scope came with last (for the gauges and the admin view). */
  private final Map<String, BudgetBook.ScopeCaps> lastCaps = new HashMap<>();
  private BudgetBook book;
  private long revision;
  private Instant lastWrite;
  /** Memory differs from the last write sent. */
  private boolean changed;
  private boolean writing;

  private Budget(ActorContext<Command> ctx, StashBuffer<Command> stash, TimerScheduler<Command> timers, String budgetId,
      DurableStateUpdateStore<Object> store, BudgetUsage.Source usage, BudgetGauges gauges, Clock clock) {
    this.ctx = ctx;
    this.stash = stash;
    this.timers = timers;
    this.budgetId = budgetId;
    this.store = new WriteBehindStore(store, ENTITY_KEY.name() + "|" + budgetId);
    this.usage = usage;
    this.gauges = gauges;
    this.clock = clock;
  }

  // ---- loading: the last write, then what usage_events says ------------------------------

  private Behavior<Command> loading() {
    load();
    return WriteBehindStore.stashTheRest(Behaviors.receive(Command.class)
        .onMessage(Loaded.class, this::onLoaded)
        .onMessage(Derived.class, this::onDerived)
        .onMessage(Rederive.class, again -> {
          derive();
          return Behaviors.same();
        }), Flush.class, Stop.class, stash);
  }

  private void load() {
    store.load(ctx, Snapshot.class, Loaded::new);
  }

  private Behavior<Command> onLoaded(Loaded loaded) {
    if (loaded.failure() != null) {
      ctx.getLog().warn("budget {} could not load its state: {}", budgetId, loaded.failure());
      load();
      return Behaviors.same();
    }
    book = BudgetBook.restored(loaded.snapshot().map(Snapshot::lines).orElse(List.of()));
    revision = loaded.revision();
    lastWrite = loaded.snapshot().map(Snapshot::lastWrite).orElse(null);
    derive();
    return Behaviors.same();
  }

  private void derive() {
    ctx.pipeToSelf(usage.derive(budgetId, book.resetLines(), clock.instant()), (lines, error) -> error != null
        ? new Derived(List.of(), String.valueOf(error.getMessage()))
        : new Derived(lines, null));
  }

  private Behavior<Command> onDerived(Derived derived) {
    if (derived.failure() != null) {
      // Serving without the usage rows could let a period run past its cap: wait, try again
      // (callers time out meanwhile and get the tenant's on_limiter_unavailable).
      ctx.getLog().warn("budget {} could not read its usage: {}", budgetId, derived.failure());
      timers.startSingleTimer(Rederive.INSTANCE, DERIVE_RETRY);
      return Behaviors.same();
    }
    for (BudgetUsage.Derived d : derived.lines()) {
      book.derived(d.scope(), d.period(), d.periodKey(), d.tokens(), d.microUsd());
    }
    changed = !derived.lines().isEmpty();
    return stash.unstashAll(active());
  }

  // ---- active ---------------------------------------------------------------------------

  private Behavior<Command> active() {
    return serving()
        .onMessage(Flush.class, flush -> onFlush())
        .onMessage(Written.class, written -> {
          onWritten(written);
          return Behaviors.same();
        })
        .onMessage(Stop.class, stop -> writing ? awaitingWrite(STOP_WRITES) : stopping(STOP_WRITES))
        .build();
  }

  private Behavior<Command> onFlush() {
    Instant now = clock.instant();
    if (book.expire(now) > 0) {
      changed = true;
    }
    gauges.update(budgetId, book, lastCaps, now);
    if (changed && !writing) {
      write();
    }
    return Behaviors.same();
  }

  private Behavior<Command> stopping(int writesLeft) {
    if (!changed || writesLeft == 0) {
      gauges.remove(budgetId);
      return Behaviors.stopped();
    }
    write();
    return awaitingWrite(writesLeft - 1);
  }

  private Behavior<Command> awaitingWrite(int writesLeft) {
    return serving()
        .onMessage(Written.class, written -> {
          onWritten(written);
          return stopping(writesLeft);
        })
        .onMessage(Flush.class, flush -> Behaviors.same())
        .onMessage(Stop.class, stop -> Behaviors.same())
        .build();
  }

  private BehaviorBuilder<Command> serving() {
    return Behaviors.receive(Command.class)
        .onMessage(Reserve.class, this::onReserve)
        .onMessage(Settle.class, this::onSettle)
        .onMessage(Release.class, this::onRelease)
        .onMessage(Inspect.class, this::onInspect)
        .onMessage(Reset.class, this::onReset)
        .onMessage(Derived.class, d -> Behaviors.same())
        .onMessage(Rederive.class, d -> Behaviors.same())
        .onMessage(Loaded.class, l -> Behaviors.same());
  }

  // ---- commands -------------------------------------------------------------------------

  private Behavior<Command> onReserve(Reserve r) {
    if (!budgetId.equals(r.budgetId())) {
      r.replyTo().tell(new Verdict(false, false, "", "", "", 0, 0, 0, null));
      return Behaviors.same();
    }
    Instant now = clock.instant();
    for (BudgetBook.ScopeCaps caps : r.scopes()) {
      lastCaps.put(caps.scope(), caps);
    }
    BudgetBook.Outcome o = book.reserve(r.reservationId(), r.scopes(), r.tokens(), r.microUsd(), r.spendOptional(), now,
        now.plus(r.expiresAfter()));
    r.replyTo().tell(o.granted()
        ? new Verdict(true, o.spendHeld(), null, null, null, 0, 0, 0, null)
        : new Verdict(false, false, o.scope(), o.period().wireName(), o.measure(), o.cap(), o.ratio(), o.used(),
            o.period().end(now)));
    return Behaviors.same();
  }

  private Behavior<Command> onSettle(Settle s) {
    if (budgetId.equals(s.budgetId())) {
      book.settle(s.reservationId(), s.scopes(), s.tokens(), s.microUsd(), s.at(), clock.instant());
      changed = true;
    }
    return Behaviors.same();
  }

  private Behavior<Command> onRelease(Release r) {
    if (budgetId.equals(r.budgetId())) {
      book.release(r.reservationId());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onInspect(Inspect i) {
    if (!budgetId.equals(i.budgetId())) {
      i.replyTo().tell(Reply.notFound(NO_SUCH_BUDGET));
      return Behaviors.same();
    }
    Instant now = clock.instant();
    List<LineView> lines = new ArrayList<>();
    for (String scope : book.scopes().stream().sorted().toList()) {
      for (BudgetPeriod period : BudgetPeriod.values()) {
        BudgetBook.Line l = book.line(scope, period, now);
        if (l != null) {
          lines.add(new LineView(scope, period.wireName(), l.periodKey, l.settledTokens, l.settledMicroUsd,
              l.heldTokens, l.heldMicroUsd, period.start(now), period.end(now), l.resetAt));
        }
      }
    }
    i.replyTo().tell(Reply.accepted(new View(budgetId, lines, book.openReservations(), lastWrite, revision)));
    return Behaviors.same();
  }

  private Behavior<Command> onReset(Reset r) {
    if (!budgetId.equals(r.budgetId())) {
      r.replyTo().tell(Reply.notFound(NO_SUCH_BUDGET));
      return Behaviors.same();
    }
    book.reset(r.scope(), BudgetPeriod.of(r.period()), clock.instant());
    changed = true;
    r.replyTo().tell(Reply.ok());
    return Behaviors.same();
  }

  // ---- writes ---------------------------------------------------------------------------

  private void write() {
    long next = revision + 1;
    Instant at = clock.instant();
    writing = true;
    changed = false;
    store.write(ctx, next, new Snapshot(book.saved(), at), at, Written::new);
  }

  private void onWritten(Written written) {
    writing = false;
    if (written.failure() != null) {
      ctx.getLog().warn("budget {} could not write its state: {}", budgetId, written.failure());
      changed = true;
      return;
    }
    revision = written.revision();
    lastWrite = written.at();
  }
}
