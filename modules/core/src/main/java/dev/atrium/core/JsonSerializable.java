package dev.atrium.core;

/**
 * Marker for every message, event, reply and state that crosses a serialization boundary
 * (cluster messages, journal, snapshots, durable state). Bound to Pekko's Jackson JSON
 * serializer in {@code serialization.conf}; tests run with {@code serialize-messages = on}
 * so a type that forgets it fails at once.
 */
public interface JsonSerializable {}
