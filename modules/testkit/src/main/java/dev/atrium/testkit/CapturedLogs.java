package dev.atrium.testkit;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/**
 * Every log line of the test JVM, as the JSON the server would write, kept in memory from
 * {@link #capture()} to {@link #close()}: for tests that check what logs hold (and do not).
 */
public final class CapturedLogs extends AppenderBase<ILoggingEvent> implements AutoCloseable {
  private final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
  private final LogstashEncoder encoder = new LogstashEncoder();
  private Logger root;

  public static CapturedLogs capture() {
    CapturedLogs logs = new CapturedLogs();
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    logs.setContext(context);
    logs.encoder.setContext(context);
    logs.encoder.start();
    logs.start();
    logs.root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logs.root.addAppender(logs);
    return logs;
  }

  @Override
  protected void append(ILoggingEvent event) {
    lines.add(new String(encoder.encode(event), StandardCharsets.UTF_8));
  }

  public List<String> lines() {
    return List.copyOf(lines);
  }

  /** The lines that contain {@code text} anywhere (message, fields, stack traces). */
  public List<String> linesContaining(String text) {
    return lines.stream().filter(l -> l.contains(text)).toList();
  }

  @Override
  public void close() {
    if (root != null) {
      root.detachAppender(this);
    }
    stop();
  }
}
