package dev.atrium.server;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optional file watch ({@code atrium.tenants.watch = on}): a change in the tenants
 * directory triggers a reload on this node a second after the change it first sees, so an
 * editor's or the kubelet's several writes (a ConfigMap update swaps a {@code ..data}
 * symlink) make one reload; a set that hashes as the one in force is not published again. One daemon thread waits on the directory; the reload runs on the blocking
 * dispatcher.
 */
final class TenantWatch {
  private static final Logger LOG = LoggerFactory.getLogger(TenantWatch.class);
  private static final Duration QUIET = Duration.ofSeconds(1);

  private TenantWatch() {}

  static void start(ActorSystem<?> system, Path dir, Runnable reload) {
    WatchService watch;
    try {
      watch = FileSystems.getDefault().newWatchService();
      dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
    } catch (IOException e) {
      LOG.warn("cannot watch the tenants directory {}: {}; reload with POST /admin/tenants/reload", dir, e.toString());
      return;
    }
    var blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    AtomicBoolean scheduled = new AtomicBoolean();
    Thread thread = new Thread(() -> {
      try {
        while (true) {
          WatchKey key = watch.take();
          key.pollEvents();
          key.reset();
          if (scheduled.compareAndSet(false, true)) {
            system.scheduler().scheduleOnce(QUIET, () -> {
              scheduled.set(false);
              reload.run();
            }, blocking);
          }
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        // shutting down
      }
    }, "atrium-tenant-watch");
    thread.setDaemon(true);
    thread.start();
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-tenant-watch", () -> {
      try {
        watch.close();
      } catch (IOException ignored) {
        // closing anyway
      }
      return java.util.concurrent.CompletableFuture.completedFuture(Done.getInstance());
    });
    LOG.info("watching {} for tenant file changes", dir);
  }
}
