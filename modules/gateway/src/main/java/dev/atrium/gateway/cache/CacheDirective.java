package dev.atrium.gateway.cache;

import java.util.Locale;
import java.util.Optional;

/**
 * What a client asks of the response cache with its {@code cache-control} request header,
 * as HTTP means the directives: {@code no-cache} is "do not answer me from the cache" (the
 * fresh answer is stored, refreshing the entry: {@link #REFRESH}); {@code no-store} is
 * "keep nothing of this call" ({@link #BYPASS}: neither read nor written). Anything else,
 * or no header, is {@link #USE}.
 */
public enum CacheDirective {
  USE(true, true),
  REFRESH(false, true),
  BYPASS(false, false);

  private final boolean reads;
  private final boolean writes;

  CacheDirective(boolean reads, boolean writes) {
    this.reads = reads;
    this.writes = writes;
  }

  /** A cached answer may be served. */
  public boolean reads() {
    return reads;
  }

  /** The fresh answer may be stored. */
  public boolean writes() {
    return writes;
  }

  /** The directive of a {@code cache-control} header's value ({@code "no-cache"}, {@code "no-store, max-age=0"}, ...). */
  public static CacheDirective of(Optional<String> cacheControl) {
    if (cacheControl.isEmpty()) {
      return USE;
    }
    CacheDirective directive = USE;
    for (String part : cacheControl.get().split(",")) {
      int equals = part.indexOf('=');
      String name = (equals < 0 ? part : part.substring(0, equals)).trim().toLowerCase(Locale.ROOT);
      if (name.equals("no-store")) {
        return BYPASS;
      }
      if (name.equals("no-cache")) {
        directive = REFRESH;
      }
    }
    return directive;
  }
}
