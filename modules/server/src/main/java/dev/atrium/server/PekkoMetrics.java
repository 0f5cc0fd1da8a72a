package dev.atrium.server;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/** Pekko basics for /metrics: cluster membership as this node sees it. */
final class PekkoMetrics {
  private PekkoMetrics() {}

  static void bind(ActorSystem<?> system, MeterRegistry registry) {
    Cluster cluster = Cluster.get(system);
    for (MemberStatus status : new MemberStatus[] {
        MemberStatus.up(), MemberStatus.joining(), MemberStatus.weaklyUp(), MemberStatus.leaving(),
        MemberStatus.exiting(), MemberStatus.down()}) {
      Gauge.builder("pekko.cluster.members", cluster,
              c -> StreamSupport.stream(c.state().getMembers().spliterator(), false)
                  .filter(m -> m.status().equals(status)).count())
          .description("Cluster members by status, as seen by this node")
          .tag("status", status.toString().toLowerCase())
          .register(registry);
    }
    Gauge.builder("pekko.cluster.unreachable.members", cluster, c -> c.state().getUnreachable().size())
        .description("Members this node's failure detector marks unreachable")
        .register(registry);
    Gauge.builder("pekko.cluster.self.up", cluster, c -> c.selfMember().status().equals(MemberStatus.up()) ? 1 : 0)
        .description("1 when this node is Up in the cluster")
        .register(registry);
    Gauge.builder("pekko.actor.system.uptime.seconds", system, s -> s.uptime())
        .description("Seconds since the actor system started")
        .register(registry);
  }
}
