package dev.atrium.gateway.usage;

/**
 * Where every model call's usage goes. {@link #record} must cost the caller almost nothing
 * and never block it (a stream, a request thread): {@link BatchedUsageRecorder} offers the
 * record to a bounded queue and writes batches elsewhere.
 */
public interface UsageRecorder {
  /** Records nothing: for tests of modules that do not look at usage. */
  UsageRecorder NONE = record -> true;

  /** Takes the record for writing; false when it was dropped (the queue is full). Never blocks. */
  boolean record(UsageRecord record);
}
