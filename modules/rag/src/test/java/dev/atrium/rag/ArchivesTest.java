package dev.atrium.rag;

import static dev.atrium.testkit.TestArchives.tarGz;
import static dev.atrium.testkit.TestArchives.zip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.core.http.ApiError;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ArchivesTest {

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void keepsTextFilesWithTheirPathsAndSkipsBinaries() throws Exception {
    var entries = Archives.unpack(zip(Map.of(
        "repo/README.md", utf8("# Repo\nhello"),
        "repo/src/Main.java", utf8("class Main {}"),
        "repo/logo.png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2},
        "repo/data.bin", new byte[] {0, 0, 0, 1})), "application/zip", 100, 10_000);
    assertThat(entries).extracting(Archives.Entry::path).containsExactlyInAnyOrder("repo/README.md", "repo/src/Main.java");
    assertThat(entries).filteredOn(e -> e.path().endsWith(".md")).singleElement()
        .satisfies(e -> assertThat(e.contentType()).isEqualTo("text/markdown"));
  }

  @Test
  void readsTarGz() throws Exception {
    var entries = Archives.unpack(tarGz(Map.of("a/notes.txt", utf8("notes"), "a/page.html", utf8("<p>x</p>"))),
        "application/gzip", 100, 10_000);
    assertThat(entries).extracting(Archives.Entry::contentType).containsExactlyInAnyOrder("text/plain", "text/html");
  }

  @Test
  void refusesPathTraversal() throws Exception {
    assertThatThrownBy(() -> Archives.unpack(zip(Map.of("ok.txt", utf8("fine"), "../../etc/passwd", utf8("root"))),
        "application/zip", 100, 10_000))
        .isInstanceOf(ApiError.class).hasMessageContaining("outside the archive");
    assertThatThrownBy(() -> Archives.unpack(tarGz(Map.of("repo/../../escape.txt", utf8("x"))), "application/gzip", 100, 10_000))
        .isInstanceOf(ApiError.class);
    // An absolute tar path is made relative by the tar reader itself: it stays inside.
    assertThat(Archives.unpack(tarGz(Map.of("/abs/path.txt", utf8("x"))), "application/gzip", 100, 10_000))
        .extracting(Archives.Entry::path).containsExactly("abs/path.txt");
    assertThatThrownBy(() -> Archives.safePath("a/../../b")).isInstanceOf(ApiError.class);
    assertThat(Archives.safePath("a/./b/../c.txt")).isEqualTo("a/c.txt");
  }

  @Test
  void enforcesFileCountAndFileSizeLimits() throws Exception {
    var tooMany = zip(Map.of("a.txt", utf8("a"), "b.txt", utf8("b"), "c.txt", utf8("c")));
    assertThatThrownBy(() -> Archives.unpack(tooMany, "application/zip", 2, 10_000))
        .isInstanceOf(ApiError.class).hasMessageContaining("max_archive_files");
    var tooBig = zip(Map.of("big.txt", utf8("x".repeat(2_000))));
    assertThatThrownBy(() -> Archives.unpack(tooBig, "application/zip", 10, 1_000))
        .isInstanceOf(ApiError.class).hasMessageContaining("max_document_bytes");
  }

  @Test
  void aCorruptArchiveIsABadRequest() {
    assertThatThrownBy(() -> Archives.unpack(utf8("not gzip"), "application/gzip", 10, 1_000))
        .isInstanceOf(ApiError.class).hasMessageContaining("could not be read");
  }
}
