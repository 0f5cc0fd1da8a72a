package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class HeapHeldTest {
  @Test
  void mediansOfOddAndEvenCounts() {
    assertThat(HeapHeld.median(List.of(5L, 1L, 9L))).isEqualTo(5.0);
    assertThat(HeapHeld.median(List.of(4L, 1L, 10L, 2L))).isEqualTo(3.0);
    assertThat(HeapHeld.median(List.of())).isNaN();
  }

  @Test
  void littlesLawGivesTheRequestsInFlight() {
    assertThat(HeapHeld.inFlight(20, 0.25)).isEqualTo(5.0);
    assertThat(HeapHeld.inFlight(20, 1.2)).isCloseTo(24.0, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void heapHeldIsTheLoadedMedianLessTheIdleOnePerRequestInFlight() {
    long mib = 1 << 20;
    List<Long> idle = List.of(100 * mib, 90 * mib, 110 * mib);
    List<Long> loaded = List.of(300 * mib, 400 * mib, 350 * mib, 2000 * mib, 310 * mib);
    // median loaded 350 MiB, median idle 100 MiB: 250 MiB over 5 in flight
    assertThat(HeapHeld.perInFlight(loaded, idle, 5.0)).isEqualTo(50.0 * mib);
    assertThat(HeapHeld.perInFlight(List.of(80 * mib), idle, 2.0)).isEqualTo(-10.0 * mib);
    assertThat(HeapHeld.perInFlight(loaded, idle, 0)).isNaN();
    assertThat(HeapHeld.perInFlight(List.of(), idle, 5)).isNaN();
  }

  @Test
  void readsTheHeapAndTheAllocationCounterFromAPrometheusScrape() {
    String scrape = """
        # HELP jvm_memory_used_bytes The amount of used memory
        # TYPE jvm_memory_used_bytes gauge
        jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 1.048576E7
        jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 2.0E7
        jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 5.0E7
        jvm_memory_used_bytes_other{area="heap"} 9.0E9
        # TYPE jvm_gc_memory_allocated_bytes_total counter
        jvm_gc_memory_allocated_bytes_total 1.23456789E8
        """;
    assertThat(NodeMetrics.sum(scrape, NodeMetrics.HEAP_USED, "area=\"heap\"")).isEqualTo(30_485_760.0);
    assertThat(NodeMetrics.sum(scrape, NodeMetrics.ALLOCATED, "")).isEqualTo(123_456_789.0);
    assertThat(NodeMetrics.sum(scrape, "jvm_threads_live_threads", "")).isNaN();
  }
}
