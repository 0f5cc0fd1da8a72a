package dev.atrium.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The CPU of an embedded PostgreSQL split by the kind of process that spent it, from each
 * child's title ({@code postgres: walwriter}, {@code postgres: atrium_system atrium
 * 127.0.0.1(40312) idle}, ...): backends execute the node's statements and commit them;
 * the WAL writer, checkpointer, background writer and autovacuum work beside them. A
 * process that exits takes its CPU time with it (an autovacuum worker's, mostly).
 */
final class PostgresProcesses {
  static final List<String> KINDS = List.of("backends", "walwriter", "checkpointer", "autovacuum", "other");

  private PostgresProcesses() {}

  /** CPU time so far of the postmaster's living children of one kind (the postmaster itself counts as other). */
  static long nanos(long postmasterPid, String kind) {
    long total = kind.equals("other") ? Cpu.processNanos(postmasterPid) : 0;
    var postmaster = ProcessHandle.of(postmasterPid);
    if (postmaster.isEmpty()) {
      return total;
    }
    for (ProcessHandle child : postmaster.get().children().toList()) {
      if (kind(child.pid()).equals(kind)) {
        total += Cpu.processNanos(child.pid());
      }
    }
    return total;
  }

  static String kind(long pid) {
    String title;
    try {
      title = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').strip();
    } catch (IOException e) {
      return "gone";
    }
    if (title.contains("walwriter")) {
      return "walwriter";
    } else if (title.contains("checkpointer")) {
      return "checkpointer";
    } else if (title.contains("autovacuum")) {
      return "autovacuum";
    } else if (title.contains("127.0.0.1(") || title.contains("[local]")) {
      return "backends";
    }
    return "other";
  }
}
