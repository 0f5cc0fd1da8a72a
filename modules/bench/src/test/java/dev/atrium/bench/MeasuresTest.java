package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MeasuresTest {
  @Test
  void countsOnlyChunksThatCarryText() {
    String head = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":";
    assertThat(Http.hasContent(head + "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}")).isFalse();
    assertThat(Http.hasContent(head + "{\"content\":\"\"},\"finish_reason\":null}]}")).isFalse();
    assertThat(Http.hasContent(head + "{},\"finish_reason\":\"stop\"}]}")).isFalse();
    assertThat(Http.hasContent(head + "{\"content\":\"t0 \"},\"finish_reason\":null}]}")).isTrue();
  }

  @Test
  void readsThisProcessesCpuTimeAndTheMachines() throws Exception {
    long before = Cpu.processNanos(ProcessHandle.current().pid());
    long spin = System.nanoTime() + 200_000_000L;
    while (System.nanoTime() < spin) {
      Thread.onSpinWait();
    }
    assertThat(Cpu.processNanos(ProcessHandle.current().pid())).isGreaterThan(before);
    Cpu.Machine machine = Cpu.Machine.now();
    assertThat(machine.busyNanos()).isPositive().isLessThanOrEqualTo(machine.totalNanos());
    assertThat(Cpu.processNanos(-1)).isZero();
  }
}
