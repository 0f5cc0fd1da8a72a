package dev.atrium.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A synthetic source repository as a zip, for the stateless bench: Java classes (Javadoc,
 * fields, a constructor, methods; each file's names and prose drawn from a few dozen of
 * {@link SyntheticText}'s words, as a real file talks about a few things) and, one file in
 * five, short Markdown notes, deflated file by file as any zip tool does (about 3× smaller
 * than the text). The target is the size of the archive,
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
          content = SyntheticText.document(random, files, 1 + random.nextInt(2));
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

  /**
   * A class of a few fields and methods, about 2-6 KB: Javadoc sentences and code lines in
   * about the proportions of ordinary Java (most lines code, the code repeating its idioms),
   * so that it compresses about as far as small source files do.
   */
  static String javaClass(Random random, String pkg, String name) {
    // A file talks about a few things: its names and prose come from a few dozen words.
    String[] vocabulary = new String[24 + random.nextInt(24)];
    for (int i = 0; i < vocabulary.length; i++) {
      vocabulary[i] = SyntheticText.word(random);
    }
    Supplier<String> pick = () -> vocabulary[random.nextInt(vocabulary.length)];
    StringBuilder s = new StringBuilder("package dev.synthetic.").append(pkg).append(";\n\n")
        .append("import java.util.ArrayList;\nimport java.util.List;\nimport java.util.Map;\n")
        .append("import java.util.Objects;\n\n")
        .append("/**\n").append(comment(random, pick, "", 40)).append(" */\n")
        .append("public final class ").append(name).append(" {\n");
    int fields = 2 + random.nextInt(4);
    List<String> names = new ArrayList<>();
    for (int f = 0; f < fields; f++) {
      String field = pick.get() + capital(pick.get());
      names.add(field);
      s.append("  private final ").append(f % 2 == 0 ? "long " : "String ").append(field).append(";\n");
    }
    s.append("\n  public ").append(name).append("(");
    for (int f = 0; f < fields; f++) {
      s.append(f == 0 ? "" : ",\n      ").append(f % 2 == 0 ? "long " : "String ").append(names.get(f));
    }
    s.append(") {\n");
    for (int f = 0; f < fields; f++) {
      String field = names.get(f);
      s.append("    this.").append(field).append(" = ")
          .append(f % 2 == 0 ? field : "Objects.requireNonNull(" + field + ", \"" + field + "\")").append(";\n");
    }
    s.append("  }\n");
    int methods = 2 + random.nextInt(5);
    for (int m = 0; m < methods; m++) {
      String method = pick.get() + capital(pick.get());
      String arg = pick.get() + "s";
      String map = pick.get() + "By" + capital(pick.get());
      String field = names.get(random.nextInt(fields));
      s.append("\n  /**\n").append(comment(random, pick, "  ", 12 + random.nextInt(20))).append("   */\n")
          .append("  public List<String> ").append(method).append("(List<String> ").append(arg)
          .append(", Map<String, Long> ").append(map).append(") {\n")
          .append("    List<String> result = new ArrayList<>();\n")
          .append("    for (String item : ").append(arg).append(") {\n")
          .append("      Long value = ").append(map).append(".get(item);\n")
          .append("      if (value == null) {\n        continue;\n      }\n")
          .append("      if (item.startsWith(\"").append(pick.get()).append("\") && value > ")
          .append(random.nextInt(1000)).append(") {\n")
          .append("        result.add(item + \":\" + ").append(field).append(");\n")
          .append("      }\n    }\n    return result;\n  }\n");
    }
    s.append("\n  @Override\n  public String toString() {\n    return \"").append(name).append("[\"");
    for (int f = 0; f < fields; f++) {
      s.append("\n        + \"").append(f == 0 ? "" : ", ").append(names.get(f)).append("=\" + ").append(names.get(f));
    }
    return s.append(" + \"]\";\n  }\n}\n").toString();
  }

  /** Sentences of 6 to 15 words, about {@code words} in all, wrapped at about 80 columns as Javadoc lines. */
  private static String comment(Random random, Supplier<String> pick, String indent, int words) {
    StringBuilder s = new StringBuilder();
    StringBuilder line = new StringBuilder(indent).append(" *");
    int written = 0;
    while (written < words) {
      int length = 6 + random.nextInt(10);
      for (int w = 0; w < length; w++) {
        String word = w == 0 ? capital(pick.get()) : pick.get();
        word = w == length - 1 ? word + "." : word;
        if (line.length() + word.length() > 80) {
          s.append(line).append('\n');
          line = new StringBuilder(indent).append(" *");
        }
        line.append(' ').append(word);
      }
      written += length;
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
