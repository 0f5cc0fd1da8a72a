package dev.atrium.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a request's cache-control header asks of the response cache. */
class CacheDirectiveTest {
  @Test
  void noHeaderOrOtherDirectivesUseTheCache() {
    assertThat(CacheDirective.of(Optional.empty())).isEqualTo(CacheDirective.USE);
    assertThat(CacheDirective.of(Optional.of("max-age=60"))).isEqualTo(CacheDirective.USE);
    assertThat(CacheDirective.of(Optional.of(""))).isEqualTo(CacheDirective.USE);
    assertThat(CacheDirective.USE.reads()).isTrue();
    assertThat(CacheDirective.USE.writes()).isTrue();
  }

  @Test
  void noCacheSkipsTheReadButStoresTheFreshAnswer() {
    assertThat(CacheDirective.of(Optional.of("no-cache"))).isEqualTo(CacheDirective.REFRESH);
    assertThat(CacheDirective.of(Optional.of("max-age=0, No-Cache"))).isEqualTo(CacheDirective.REFRESH);
    assertThat(CacheDirective.of(Optional.of("no-cache=\"set-cookie\""))).isEqualTo(CacheDirective.REFRESH);
    assertThat(CacheDirective.REFRESH.reads()).isFalse();
    assertThat(CacheDirective.REFRESH.writes()).isTrue();
  }

  @Test
  void noStoreNeitherReadsNorWrites() {
    assertThat(CacheDirective.of(Optional.of("no-store"))).isEqualTo(CacheDirective.BYPASS);
    assertThat(CacheDirective.of(Optional.of("no-cache, no-store"))).isEqualTo(CacheDirective.BYPASS);
    assertThat(CacheDirective.BYPASS.reads()).isFalse();
    assertThat(CacheDirective.BYPASS.writes()).isFalse();
  }
}
