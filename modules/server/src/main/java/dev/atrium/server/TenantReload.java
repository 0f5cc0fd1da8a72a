package dev.atrium.server;

import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantConfigException;
import dev.atrium.core.tenant.TenantRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.LWWRegisterKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tenant configuration without restart (docs/tenancy.md#reload). {@link #reload} reads this
 * node's tenant files, checks the whole set as at start ({@link TenantRegistry#parse} and
 * {@code check}, the modules' own start checks), and publishes the files' texts with a new
 * version in distributed data; every node (this one included, and any that joins later)
 * parses and checks the set with its own environment and applies it by swapping its
 * registry's snapshot, or keeps the set it has and says why. Each node's answer is an entry
 * of a second replicated map, which the reload awaits and {@code GET /admin/tenants} shows.
 *
 * <p>Reloads are meant to be run one at a time: two published on different nodes within the
 * same gossip round could get the same version, and the later write wins the register.
 */
final class TenantReload {
  private static final Logger LOG = LoggerFactory.getLogger(TenantReload.class);
  static final Key<LWWRegister<TenantSet>> SET = LWWRegisterKey.create("atrium-tenant-set");
  static final Key<LWWMap<String, TenantSet.NodeState>> NODES = LWWMapKey.create("atrium-tenant-nodes");
  private static final Duration POLL = Duration.ofMillis(200);

  /** One node's answer to a reload: {@code applied}, {@code failed} (with its problems) or {@code pending}. */
  record NodeOutcome(String node, String status, long version, List<String> problems) {}

  /** A published reload: its version and set hash, and every node's answer. */
  record Outcome(long version, String setSha256, List<NodeOutcome> nodes) {}

  private final ActorSystem<?> system;
  private final TenantRegistry registry;
  private final Function<TenantRegistry, List<String>> check;
  private final Duration timeout;
  private final Clock clock;
  private final Executor blocking;
  private final org.apache.pekko.actor.typed.ActorRef<Replicator.Command> replicator;
  private final SelfUniqueAddress self;
  private final String node;
  /** The last version this node refused, and why (0 and none: it refused nothing since). */
  private long failedVersion;
  private List<String> failure = List.of();

  /**
   * @param check the modules' start checks of a candidate set beyond the registry's own
   *     (the gateway's {@code problems}): run on every node before it applies a set
   */
  private TenantReload(ActorSystem<?> system, TenantRegistry registry, Function<TenantRegistry, List<String>> check,
      Duration timeout, Clock clock) {
    this.system = system;
    this.registry = registry;
    this.check = check;
    this.timeout = timeout;
    this.clock = clock;
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    this.replicator = DistributedData.get(system).replicator();
    this.self = DistributedData.get(system).selfUniqueAddress();
    this.node = Cluster.get(system).selfMember().address().toString();
  }

  /** Starts following published sets (the latest one, if any, is applied as soon as it is known) and says what this node has. */
  static TenantReload start(ActorSystem<?> system, TenantRegistry registry, Function<TenantRegistry, List<String>> check) {
    Duration timeout = system.settings().config().getDuration("atrium.tenants.reload-timeout");
    TenantReload reload = new TenantReload(system, registry, check, timeout, Clock.systemUTC());
    Behavior<Replicator.SubscribeResponse<LWWRegister<TenantSet>>> follower = Behaviors.receiveMessage(message -> {
      if (message instanceof Replicator.Changed<LWWRegister<TenantSet>> changed) {
        TenantSet set = changed.get(SET).getValue();
        reload.blocking.execute(() -> reload.applyPublished(set));
      }
      return Behaviors.same();
    });
    var ref = system.systemActorOf(follower, "tenant-reload", Props.empty());
    reload.replicator.tell(new Replicator.Subscribe<>(SET, ref));
    reload.announce();
    if (system.settings().config().getBoolean("atrium.tenants.watch")) {
      registry.origin().ifPresentOrElse(origin -> TenantWatch.start(system, origin.dir(), reload::reloadIfChanged),
          () -> LOG.warn("atrium.tenants.watch is on, but this node's tenants were not read from a directory"));
    }
    return reload;
  }

  /**
   * The file watch's reload: as {@link #reload}, unless the files hash as the set this node
   * has (an editor's temporary file, a touched file); problems are logged, never thrown.
   */
  void reloadIfChanged() {
    TenantRegistry candidate;
    try {
      candidate = readAndCheck();
    } catch (TenantConfigException e) {
      LOG.warn("the tenant files changed but are not valid; nothing was changed:\n  {}",
          String.join("\n  ", e.problems()));
      return;
    }
    if (candidate.snapshot().setHash().equals(registry.snapshot().setHash())) {
      return;
    }
    publish(candidate)
        .thenCompose(published -> awaitAnswers(published.version(), published.setSha256(),
            System.nanoTime() + timeout.toNanos()))
        .whenComplete((outcome, error) -> {
          if (error != null) {
            LOG.warn("the changed tenant files could not be published: {}", error.toString());
          } else {
            LOG.info("tenant files changed: set {} published, {}", outcome.version(), outcome.nodes().stream()
                .map(n -> n.node() + " " + n.status()).toList());
          }
        });
  }

  /**
   * Reads and checks this node's files, publishes them and awaits every member's answer
   * (up to the reload timeout; the others are {@code pending}). Fails with a
   * {@link TenantConfigException} listing every problem, and publishes nothing, when the set
   * is not valid here.
   */
  CompletionStage<Outcome> reload() {
    return CompletableFuture.supplyAsync(this::readAndCheck, blocking)
        .thenCompose(this::publish)
        .thenCompose(published -> awaitAnswers(published.version(), published.setSha256(),
            System.nanoTime() + timeout.toNanos()));
  }

  private TenantRegistry readAndCheck() {
    TenantRegistry.Origin origin = registry.origin().orElseThrow(() -> new TenantConfigException(List.of(
        "this node's tenants were not read from a directory, so there are no files to reload")));
    TenantRegistry candidate = TenantRegistry.parse(origin, TenantRegistry.readSources(origin.dir()));
    List<String> problems = check.apply(candidate);
    if (!problems.isEmpty()) {
      throw new TenantConfigException(problems);
    }
    return candidate;
  }

  /** Writes the set to every reachable node (the rest get it by gossip), then applies it here. */
  private CompletionStage<TenantSet> publish(TenantRegistry candidate) {
    TenantRegistry.Snapshot checked = candidate.snapshot();
    String packed = TenantSet.pack(checked.sources());
    if (packed.length() > TenantSet.MAX_COMPRESSED_BYTES) {
      return CompletableFuture.failedFuture(new TenantConfigException(List.of("the tenant files take "
          + packed.length() / 1024 + " KiB compressed; a reload publishes at most "
          + TenantSet.MAX_COMPRESSED_BYTES / 1024 + " KiB (restart the nodes to load a larger set)")));
    }
    return highestKnown().thenCompose(highest -> {
      AtomicLong version = new AtomicLong();
      return AskPattern.<Replicator.Command, Replicator.UpdateResponse<LWWRegister<TenantSet>>>ask(replicator,
              replyTo -> new Replicator.Update<>(SET, LWWRegister.create(self, TenantSet.NONE),
                  new Replicator.WriteAll(timeout), replyTo, current -> {
                    long next = Math.max(highest, current.getValue().version()) + 1;
                    version.set(next);
                    return current.withValue(self, new TenantSet(next, checked.setHash(), packed, node));
                  }),
              timeout.plusSeconds(1), system.scheduler())
          .thenApplyAsync(response -> {
            if (!(response instanceof Replicator.UpdateSuccess<?>) && !(response instanceof Replicator.UpdateTimeout<?>)) {
              throw new IllegalStateException("the tenant set could not be published: " + response);
            }
            // A timeout still wrote this node's replica: gossip takes it to the nodes that did not answer in time.
            TenantSet set = new TenantSet(version.get(), checked.setHash(), packed, node);
            apply(set, candidate);
            return set;
          }, blocking);
    });
  }

  /** The highest version this node knows of: its own, and every node's answer (so a new version is above all). */
  private CompletionStage<Long> highestKnown() {
    return nodeStates().thenApply(states -> {
      long fromNodes = states.values().stream().mapToLong(s -> Math.max(s.version(), s.failedVersion())).max().orElse(0);
      return Math.max(fromNodes, Math.max(registry.version(), failedVersionNow()));
    });
  }

  private synchronized long failedVersionNow() {
    return failedVersion;
  }

  /** A set published by any node (this one's own arrive here too, and are already applied). */
  private void applyPublished(TenantSet set) {
    if (set.version() == 0) {
      return;
    }
    synchronized (this) {
      if (set.version() <= registry.version() || set.version() <= failedVersion) {
        return;
      }
    }
    TenantRegistry candidate;
    try {
      TenantRegistry.Origin origin = registry.origin().orElseThrow(() -> new TenantConfigException(List.of(
          "this node's tenants were not read from a directory, so it cannot read a published set")));
      candidate = TenantRegistry.parse(origin, set.texts());
      List<String> problems = check.apply(candidate);
      if (!problems.isEmpty()) {
        throw new TenantConfigException(problems);
      }
    } catch (TenantConfigException e) {
      refuse(set, e.problems());
      return;
    } catch (RuntimeException e) {
      LOG.error("tenant set {} could not be checked", set.version(), e);
      refuse(set, List.of("the set could not be checked: " + e.getClass().getSimpleName()));
      return;
    }
    apply(set, candidate);
  }

  private void apply(TenantSet set, TenantRegistry candidate) {
    synchronized (this) {
      if (set.version() <= registry.version()) {
        return;
      }
      registry.replace(candidate, set.version());
      if (failedVersion < set.version()) {
        failedVersion = 0;
        failure = List.of();
      }
    }
    LOG.info("tenant set {} applied ({} tenants, sha256 {}, published by {})", set.version(),
        candidate.all().size(), set.setSha256(), set.publishedBy());
    announce();
  }

  private void refuse(TenantSet set, List<String> problems) {
    synchronized (this) {
      failedVersion = set.version();
      failure = List.copyOf(problems);
    }
    LOG.warn("tenant set {} published by {} is refused here; this node keeps set {}:\n  {}", set.version(),
        set.publishedBy(), registry.version(), String.join("\n  ", problems));
    announce();
  }

  /** Writes this node's state to every reachable node. */
  private void announce() {
    TenantSet.NodeState state = state();
    AskPattern.<Replicator.Command, Replicator.UpdateResponse<LWWMap<String, TenantSet.NodeState>>>ask(replicator,
            replyTo -> new Replicator.Update<>(NODES, LWWMap.create(), new Replicator.WriteAll(timeout), replyTo,
                current -> current.put(self, node, state)),
            timeout.plusSeconds(1), system.scheduler())
        .whenComplete((response, error) -> {
          if (error != null) {
            LOG.warn("this node's tenant state could not be written: {}", error.toString());
          }
        });
  }

  /** What this node answers with now: its set's version and hashes, and what it last refused. */
  synchronized TenantSet.NodeState state() {
    TenantRegistry.Snapshot now = registry.snapshot();
    return new TenantSet.NodeState(node, now.version(), now.setHash(), hashes(now), failedVersion, failure,
        clock.instant().toString());
  }

  /** Every tenant's hashes in {@code snapshot}. */
  static Map<String, TenantSet.TenantHashes> hashes(TenantRegistry.Snapshot snapshot) {
    Map<String, TenantSet.TenantHashes> all = new TreeMap<>();
    for (TenantConfig t : snapshot.all()) {
      all.put(t.id(), new TenantSet.TenantHashes(snapshot.hashes().getOrDefault(t.id(), ""), keysHash(t)));
    }
    return all;
  }

  private static String keysHash(TenantConfig tenant) {
    StringBuilder keys = new StringBuilder();
    tenant.apiKeys().stream().sorted(Comparator.comparing(TenantConfig.ApiKeyConfig::id))
        .forEach(k -> keys.append(k.id()).append('=').append(k.sha256()).append('\n'));
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(keys.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every node's state as this node's replica has it, by node address. */
  CompletionStage<Map<String, TenantSet.NodeState>> nodeStates() {
    return AskPattern.<Replicator.Command, Replicator.GetResponse<LWWMap<String, TenantSet.NodeState>>>ask(replicator,
            replyTo -> new Replicator.Get<>(NODES, Replicator.readLocal(), replyTo), timeout, system.scheduler())
        .thenApply(response -> response instanceof Replicator.GetSuccess<LWWMap<String, TenantSet.NodeState>> ok
            ? Map.copyOf(ok.get(NODES).getEntries()) : Map.of());
  }

  /** The members the cluster counts now (up, or joining or leaving), by address: the nodes a reload awaits and the view lists. */
  List<String> members() {
    List<String> members = new ArrayList<>();
    Cluster.get(system).state().getMembers().forEach(m -> {
      if (m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp()
          || m.status() == MemberStatus.joining() || m.status() == MemberStatus.leaving()) {
        members.add(m.address().toString());
      }
    });
    members.sort(Comparator.naturalOrder());
    return members;
  }

  private CompletionStage<Outcome> awaitAnswers(long version, String setSha256, long deadline) {
    return nodeStates().thenCompose(states -> {
      List<String> members = members();
      boolean all = members.stream().allMatch(m -> states.containsKey(m) && states.get(m).answered(version));
      if (all || System.nanoTime() >= deadline) {
        return CompletableFuture.completedFuture(outcome(version, setSha256, members, states));
      }
      CompletableFuture<Outcome> later = new CompletableFuture<>();
      system.scheduler().scheduleOnce(POLL, () -> awaitAnswers(version, setSha256, deadline)
          .whenComplete((o, e) -> {
            if (e != null) {
              later.completeExceptionally(e);
            } else {
              later.complete(o);
            }
          }), system.executionContext());
      return later;
    });
  }

  private static Outcome outcome(long version, String setSha256, List<String> members,
      Map<String, TenantSet.NodeState> states) {
    List<NodeOutcome> nodes = new ArrayList<>();
    for (String member : members) {
      TenantSet.NodeState state = states.get(member);
      if (state != null && state.version() >= version) {
        nodes.add(new NodeOutcome(member, "applied", state.version(), List.of()));
      } else if (state != null && state.failedVersion() >= version) {
        nodes.add(new NodeOutcome(member, "failed", state.version(), state.problems()));
      } else {
        nodes.add(new NodeOutcome(member, "pending", state == null ? 0 : state.version(), List.of()));
      }
    }
    return new Outcome(version, setSha256, nodes);
  }

  /** The reload's answer on the wire (snake_case, as every admin route). */
  static Map<String, Object> describe(Outcome outcome) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("version", outcome.version());
    view.put("set_hash", outcome.setSha256());
    view.put("applied_everywhere", outcome.nodes().stream().allMatch(n -> n.status().equals("applied")));
    view.put("nodes", outcome.nodes().stream().map(n -> {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("node", n.node());
      one.put("status", n.status());
      one.put("version", n.version());
      if (!n.problems().isEmpty()) {
        one.put("problems", n.problems());
      }
      return one;
    }).toList());
    return view;
  }

  /** Each member's state for the admin view; a member that has not said anything yet is {@code pending}. */
  CompletionStage<List<Map<String, Object>>> describeNodes() {
    return nodeStates().thenApply(states -> members().stream().map(member -> {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("node", member);
      one.put("self", member.equals(node));
      TenantSet.NodeState state = member.equals(node) ? state() : states.get(member);
      if (state == null) {
        one.put("status", "pending");
        return one;
      }
      one.put("version", state.version());
      one.put("set_hash", state.setSha256());
      Map<String, Object> tenants = new TreeMap<>();
      state.tenants().forEach((id, h) -> tenants.put(id, Map.of("content_hash", h.sha256(), "api_keys_hash", h.apiKeysSha256())));
      one.put("tenants", tenants);
      if (state.failedVersion() > 0) {
        one.put("failed", Map.of("version", state.failedVersion(), "problems", state.problems()));
      }
      one.put("updated_at", state.updatedAt());
      return one;
    }).toList());
  }

  /** This node's address as the views name it. */
  String node() {
    return node;
  }
}
