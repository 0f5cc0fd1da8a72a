package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;

class RepoArchiveTest {
  @Test
  void theArchiveReachesItsTargetSizeWithinOneFile() throws IOException {
    for (long target : new long[] {50_000, 1_000_000}) {
      RepoArchive.Archive a = RepoArchive.zip(target, 7);
      List<Integer> compressed = new ArrayList<>();
      readAll(a, compressed);
      int largestEntry = compressed.stream().mapToInt(Integer::intValue).max().orElseThrow();
      assertThat((long) a.bytes().length).as("target %d", target).isGreaterThanOrEqualTo(target)
          .isLessThan(target + largestEntry + 300); // the last file, its headers and its central record
    }
  }

  @Test
  void holdsJavaAndMarkdownFilesWhoseTextItCounts() throws IOException {
    RepoArchive.Archive a = RepoArchive.zip(200_000, 3);
    List<String> names = readAll(a, new ArrayList<>());
    assertThat(names).hasSize(a.files());
    assertThat(names).allMatch(n -> n.endsWith(".java") || n.endsWith(".md"));
    assertThat(names).filteredOn(n -> n.endsWith(".md")).hasSize(a.files() / 5);
    assertThat(names).first().asString().startsWith("src/main/java/dev/synthetic/pkg0/").endsWith("0.java");
    // Source-like text compresses (about 3× file by file), but not as far as a repeated string would.
    assertThat(a.compression()).isBetween(2.5, 6.0);
  }

  @Test
  void theSameSeedGivesTheSameBytesAndAnotherSeedOthers() {
    assertThat(RepoArchive.zip(100_000, 5).bytes()).isEqualTo(RepoArchive.zip(100_000, 5).bytes());
    assertThat(RepoArchive.zip(100_000, 6).bytes()).isNotEqualTo(RepoArchive.zip(100_000, 5).bytes());
  }

  @Test
  void javaFilesLookLikeClassesOfTheirPackage() {
    String source = RepoArchive.javaClass(new java.util.Random(1), "pkg3", "LedgerQueue12");
    assertThat(source).startsWith("package dev.synthetic.pkg3;\n").contains("public final class LedgerQueue12 {")
        .contains("  /**\n   * ").contains("    return result;").contains("public String toString()").endsWith("}\n");
    assertThat(source.lines()).allMatch(l -> l.length() <= 120);
  }

  @Test
  void refusesATinyTarget() {
    assertThatThrownBy(() -> RepoArchive.zip(100, 1)).isInstanceOf(IllegalArgumentException.class);
  }

  /** Entry names in order; the text read back must add up to the archive's own count. */
  private static List<String> readAll(RepoArchive.Archive a, List<Integer> compressedSizes) throws IOException {
    List<String> names = new ArrayList<>();
    long text = 0;
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(a.bytes()))) {
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        names.add(e.getName());
        text += in.readAllBytes().length;
        compressedSizes.add((int) e.getCompressedSize());
      }
    }
    assertThat(text).isEqualTo(a.textBytes());
    return names;
  }
}
