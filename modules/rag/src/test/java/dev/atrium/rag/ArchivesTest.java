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

  // ---- flatten: the stateless path --------------------------------------------------------

  static Map<String, byte[]> ordered(String... pathAndContent) {
    Map<String, byte[]> files = new java.util.LinkedHashMap<>();
    for (int i = 0; i < pathAndContent.length; i += 2) {
      files.put(pathAndContent[i], utf8(pathAndContent[i + 1]));
    }
    return files;
  }

  @Test
  void flattensTextFilesInArchiveOrderAndSkipsBinariesPdfAndDocx() throws Exception {
    Map<String, byte[]> files = ordered("a.md", "# A\nalpha", "logo.png", "\u0000PNG", "paper.pdf", "%PDF-1.4",
        "b/c.java", "class C {}");
    var flat = Archives.flatten(zip(files), "application/zip", 100, 10_000);
    assertThat(flat.files()).extracting(Archives.FileText::path).containsExactly("a.md", "b/c.java");
    assertThat(flat.text()).isEqualTo("=== a.md ===\n# A\nalpha\n=== b/c.java ===\nclass C {}\n");
    assertThat(flat.chars()).isEqualTo(flat.text().length());
    assertThat(flat.truncated()).isFalse();
    assertThat(Archives.flatten(tarGz(files), "application/gzip", 100, 10_000).text()).isEqualTo(flat.text());
  }

  @Test
  void stopsAtTheCharacterBudgetWithoutSplittingACharacter() throws Exception {
    // "é" is two bytes: the budget is counted in characters, and a cut never leaves half of one.
    var flat = Archives.flatten(zip(ordered("one.txt", "é".repeat(100), "two.txt", "never read")),
        "application/zip", 100, 50);
    assertThat(flat.truncated()).isTrue();
    assertThat(flat.files()).singleElement().satisfies(f -> assertThat(f.text()).matches("é+"));
    assertThat(flat.chars()).isEqualTo(flat.text().length()).isLessThanOrEqualTo(50);
  }

  @Test
  void flattenRefusesTraversalAndTooManyFiles() throws Exception {
    assertThatThrownBy(() -> Archives.flatten(zip(ordered("../x.txt", "x")), "application/zip", 100, 1000))
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.code()).isEqualTo("archive_path_traversal"));
    assertThatThrownBy(() -> Archives.flatten(zip(ordered("a.txt", "a", "b.txt", "b")), "application/zip", 1, 1000))
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.code()).isEqualTo("payload_too_large"));
    assertThatThrownBy(() -> Archives.flatten(utf8("not a zip"), "application/gzip", 10, 1000))
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.code()).isEqualTo("invalid_archive"));
  }
}
