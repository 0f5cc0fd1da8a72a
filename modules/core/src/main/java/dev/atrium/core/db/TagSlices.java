package dev.atrium.core.db;

/**
 * The tags an entity type's events carry, one per slice, so that its projection runs as
 * {@code count} instances ({@code prefix-0} ... {@code prefix-(count-1)}) spread over the
 * cluster. Every event of one entity carries the same tag, so one instance sees them all,
 * in order. Changing {@code count} or the function moves entities between slices: only
 * with the projection's offsets rebuilt.
 */
public record TagSlices(String prefix, int count) {

  public TagSlices {
    if (count < 1) {
      throw new IllegalArgumentException("count must be at least 1");
    }
  }

  public String tag(int index) {
    return prefix + "-" + index;
  }

  /** The tag of every event of the entity with this id. */
  public String of(String id) {
    return tag(Math.abs(id.hashCode() % count));
  }
}
