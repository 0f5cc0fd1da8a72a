package dev.atrium.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A synthetic source repository as a zip, for the stateless bench: Java classes (Javadoc,
 * fields, methods whose names and comments come from {@link SyntheticText}'s words) and
 * Markdown notes, deflated as any zip tool would. The target is the size of the archive,
 * not of its text: a repository's archive is what a client uploads. Files are added until
 * the archive, with its central directory, reaches the target, so it ends at most one file
 * past it. The same seed gives the same bytes.
 */
final class RepoArchive {
  /** A zip's central directory record is 46 bytes plus the entry's name. */
  private static final int CENTRAL_RECORD_BYTES = 46;
  /** The end-of-central-directory record. */
  private static final int END_RECORD_BYTES = 22;
  private static final int FILES_PER_PACKAGE = 40;
  private static final LocalDateTime FIXED_TIME = LocalDateTime.of(2024, 1, 1, 0, 0);

  /** The archive, its file count and the text it holds uncompressed (UTF-8 bytes; the text is ASCII). */
  record Archive(byte[] bytes, int files, long textBytes) {
    /** How much smaller the archive is than its text. */
    double compression() {
      return bytes.length == 0 ? Double.NaN : (double) textBytes / bytes.length;
    }
  }

  private RepoArchive() {}

  static Archive zip(long targetBytes, long seed) {
    if (targetBytes < 1024) {
      throw new IllegalArgumentException("an archive of at least 1 KiB, not " + targetBytes + " bytes");
    }
    Random random = new Random(seed);
    ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 8, targetBytes + 65_536));
    int files = 0;
    long text = 0;
    long centralDirectory = END_RECORD_BYTES;
    try (ZipOutputStream zip = new ZipOutputStream(out, StandardCharsets.UTF_8)) {
      while (out.size() + centralDirectory < targetBytes) {
        String path;
        String content;
        if (files % 5 == 4) {
          path = "docs/notes-" + files / 5 + ".md";
          content = SyntheticText.document(random, files, 3 + random.nextInt(6));
        } else {
          String pkg = "pkg" + files / FILES_PER_PACKAGE;
          String name = className(random, files);
          path = "src/main/java/dev/synthetic/" + pkg + "/" + name + ".java";
          content = javaClass(random, pkg, name);
        }
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        ZipEntry entry = new ZipEntry(path);
        // No clock, no time zone: the same seed gives the same bytes (and no extended-time field).
        entry.setTimeLocal(FIXED_TIME);
        zip.putNextEntry(entry);
        zip.write(bytes);
        zip.closeEntry(); // flushes the entry's deflater: out.size() is now exact
        files++;
        text += bytes.length;
        centralDirectory += CENTRAL_RECORD_BYTES + path.getBytes(StandardCharsets.UTF_8).length;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Archive(out.toByteArray(), files, text);
  }

  private static String className(Random random, int n) {
    return capital(word(random)) + capital(word(random)) + n;
  }

  /** A class of a few fields and methods, each with a Javadoc paragraph, about 2-6 KB. */
  static String javaClass(Random random, String pkg, String name) {
    StringBuilder s = new StringBuilder("package dev.synthetic.").append(pkg).append(";\n\n")
        .append("import java.util.List;\nimport java.util.Map;\n\n")
        .append("/**\n").append(comment(random, "")).append(" */\n")
        .append("public final class ").append(name).append(" {\n");
    int fields = 1 + random.nextInt(4);
    for (int f = 0; f < fields; f++) {
      s.append("  private final long ").append(word(random)).append(capital(word(random))).append(f).append(" = ")
          .append(random.nextInt(100_000)).append("L;\n");
    }
    int methods = 2 + random.nextInt(5);
    for (int m = 0; m < methods; m++) {
      String method = word(random) + capital(word(random));
      String arg = word(random);
      s.append("\n  /**\n").append(comment(random, "  ")).append("   */\n")
          .append("  public long ").append(method).append("(List<String> ").append(arg).append(", Map<String, Long> ")
          .append(word(random)).append(") {\n")
          .append("    long total = ").append(random.nextInt(1000)).append(";\n")
          .append("    for (String item : ").append(arg).append(") {\n")
          .append("      if (item.startsWith(\"").append(word(random)).append("\")) {\n")
          .append("        total += item.length() * ").append(1 + random.nextInt(31)).append(";\n")
          .append("      }\n    }\n    return total;\n  }\n");
    }
    return s.append("}\n").toString();
  }

  /** A paragraph of prose wrapped at about 80 columns as Javadoc lines. */
  private static String comment(Random random, String indent) {
    StringBuilder s = new StringBuilder();
    StringBuilder line = new StringBuilder(indent).append(" *");
    for (String word : SyntheticText.paragraph(random).split(" ")) {
      if (line.length() + word.length() > 80) {
        s.append(line).append('\n');
        line = new StringBuilder(indent).append(" *");
      }
      line.append(' ').append(word);
    }
    return s.append(line).append('\n').toString();
  }

  private static String word(Random random) {
    return SyntheticText.word(random);
  }

  private static String capital(String w) {
    return Character.toUpperCase(w.charAt(0)) + w.substring(1);
  }
}
