package dev.atrium.rag;

import dev.atrium.core.http.ApiError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.commons.compress.archivers.ArchiveEntry;
import org.apache.commons.compress.archivers.ArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.pekko.util.ByteString;

/**
 * A repository archive (zip or tar.gz) as documents: its text files (and PDF/DOCX) with
 * their paths as sources; binaries are skipped. The whole archive is read and checked
 * before anything is stored: an entry whose path escapes the archive, too many files or a
 * file over the document limit refuses the upload and writes nothing.
 */
public final class Archives {
  public static final Set<String> TYPES = Set.of("application/zip", "application/gzip", "application/x-gzip",
      "application/x-tar+gzip", "application/x-compressed-tar");
  private static final Set<String> TEXT_EXTENSIONS = Set.of("txt", "md", "markdown", "rst", "adoc", "html", "htm",
      "java", "kt", "scala", "py", "js", "mjs", "ts", "tsx", "jsx", "go", "rs", "c", "h", "cc", "cpp", "hpp", "cs", "rb",
      "php", "swift", "sql", "sh", "bash", "json", "yaml", "yml", "toml", "xml", "ini", "cfg", "conf", "properties",
      "gradle", "css", "scss", "csv", "tex", "proto", "graphql", "dockerfile", "makefile");

  private Archives() {}

  public record Entry(String path, byte[] bytes, String contentType) {}

  /** A text file of a flattened archive: its path and as much of its text as the budget let in. */
  public record FileText(String path, String text) {}

  /**
   * An archive as text, for a stateless answer: its files, the characters of the
   * flattened form ({@code === path ===\n<text>\n} per file), and whether the budget ran
   * out before the archive did.
   */
  public record Flattened(List<FileText> files, int chars, boolean truncated) {
    /** The flattened form itself. */
    public String text() {
      StringBuilder text = new StringBuilder(chars);
      files.forEach(f -> text.append(header(f.path())).append(f.text()).append('\n'));
      return text.toString();
    }
  }

  private static String header(String path) {
    return "=== " + path + " ===\n";
  }

  /**
   * The archive's text files, flattened in archive order until {@code maxChars} characters
   * are spent: reading stops there (the rest of the archive is never decompressed), a file
   * cut by the budget keeps its first characters. Nothing touches the disk. Binaries, and
   * PDF and DOCX (their extraction would need temporary files), are skipped; a path that
   * escapes the archive refuses it (400), more than {@code maxFiles} files is a 413.
   */
  public static Flattened flatten(byte[] archive, String contentType, int maxFiles, int maxChars) {
    return flatten(ByteString.fromArrayUnsafe(archive), contentType, maxFiles, maxChars);
  }

  /** As {@link #flatten(byte[], String, int, int)}, read from the request's bytes as they are (no copy). */
  public static Flattened flatten(ByteString archive, String contentType, int maxFiles, int maxChars) {
    List<FileText> files = new ArrayList<>();
    int[] chars = {0};
    boolean[] truncated = {false};
    walk(archive, contentType, maxFiles, (path, in) -> {
      int room = maxChars - chars[0] - header(path).length() - 1;
      if (room <= 0) {
        truncated[0] = true;
        return false;
      }
      Budgeted text = text(in, path, room);
      if (text == null) {
        return true;
      }
      files.add(new FileText(path, text.text()));
      chars[0] += header(path).length() + text.text().length() + 1;
      truncated[0] = text.cut();
      return !text.cut();
    });
    return new Flattened(List.copyOf(files), chars[0], truncated[0]);
  }

  /** One file of an archive, read from the archive's stream; false ends the walk there. */
  private interface FileVisitor {
    boolean visit(String path, InputStream in) throws IOException;
  }

  /**
   * Walks the archive's files in order (directories and links skipped), refusing a path
   * that escapes the archive (400) and more than {@code maxFiles} files (413) before the
   * file is visited; an unreadable archive is a 400 {@code invalid_archive}.
   */
  private static void walk(ByteString archive, String contentType, int maxFiles, FileVisitor visitor) {
    String type = Extractor.mediaType(contentType);
    int files = 0;
    try (ArchiveInputStream<? extends ArchiveEntry> in = open(archive, type)) {
      ArchiveEntry entry;
      while ((entry = in.getNextEntry()) != null) {
        String path = safePath(entry.getName());
        if (entry.isDirectory() || (entry instanceof TarArchiveEntry tar && !tar.isFile())) {
          continue;
        }
        if (++files > maxFiles) {
          throw ApiError.payloadTooLarge("The archive has more than " + maxFiles + " files (max_archive_files).")
              .withExtension("limit_files", maxFiles);
        }
        if (!visitor.visit(path, in)) {
          return;
        }
      }
    } catch (IOException e) {
      throw ApiError.badRequest("invalid_archive", "The archive could not be read: " + e.getMessage());
    }
  }

  private record Budgeted(String text, boolean cut) {}

  /**
   * Up to {@code room} characters of the entry's text, reading no more bytes than they can
   * take (4 per character); null for a file that is not text (by name, a NUL byte in its
   * first 8 KiB, or bytes that are not UTF-8).
   */
  private static Budgeted text(InputStream in, String path, int room) throws IOException {
    String type = contentTypeOf(path, new byte[0]);
    if (type == null || type.equals(Extractor.PDF) || type.equals(Extractor.DOCX)) {
      return null;
    }
    long byteBudget = Math.min(Integer.MAX_VALUE - 8, 4L * room + 4);
    byte[] bytes = in.readNBytes((int) byteBudget);
    boolean more = bytes.length == byteBudget && in.read() >= 0;
    if (looksBinary(bytes)) {
      return null;
    }
    java.nio.charset.CharsetDecoder decoder = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
    java.nio.CharBuffer out = java.nio.CharBuffer.allocate(Math.max(bytes.length, 1));
    // Not the end of input when more bytes follow: a character cut at the byte budget is left out, not malformed.
    java.nio.charset.CoderResult result = decoder.decode(java.nio.ByteBuffer.wrap(bytes), out, !more);
    if (result.isError()) {
      return null;
    }
    if (!more) {
      decoder.flush(out);
    }
    out.flip();
    String text = out.toString();
    boolean cut = more || text.length() > room;
    return new Budgeted(text.length() > room ? text.substring(0, room) : text, cut);
  }

  public static boolean isArchive(String contentType) {
    return TYPES.contains(Extractor.mediaType(contentType));
  }

  public static List<Entry> unpack(byte[] archive, String contentType, int maxFiles, long maxFileBytes) {
    return unpack(ByteString.fromArrayUnsafe(archive), contentType, maxFiles, maxFileBytes);
  }

  /** As {@link #unpack(byte[], String, int, long)}, read from the request's bytes as they are (no copy). */
  public static List<Entry> unpack(ByteString archive, String contentType, int maxFiles, long maxFileBytes) {
    List<Entry> entries = new ArrayList<>();
    walk(archive, contentType, maxFiles, (path, in) -> {
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxFileBytes + 1));
      if (bytes.length > maxFileBytes) {
        throw ApiError.payloadTooLarge("'" + path + "' is larger than " + maxFileBytes
            + " bytes (max_document_bytes).").withExtension("limit_bytes", maxFileBytes);
      }
      String fileType = contentTypeOf(path, bytes);
      if (fileType != null) {
        entries.add(new Entry(path, bytes, fileType));
      }
      return true;
    });
    return entries;
  }

  private static ArchiveInputStream<? extends ArchiveEntry> open(ByteString archive, String type) throws IOException {
    InputStream bytes = archive.iterator().asInputStream();
    if (type.equals("application/zip")) {
      return new ZipArchiveInputStream(bytes);
    }
    return new TarArchiveInputStream(new GzipCompressorInputStream(bytes));
  }

  /** The entry's path, or a refusal when it is absolute or climbs out of the archive. */
  static String safePath(String name) {
    String normalized = name.replace('\\', '/');
    Path path = Path.of(normalized).normalize();
    if (normalized.startsWith("/") || path.isAbsolute() || path.startsWith("..") || normalized.contains("\0")
        || normalized.matches("^[A-Za-z]:.*")) {
      throw ApiError.badRequest("archive_path_traversal",
          "The archive entry '" + name + "' points outside the archive; nothing was stored.");
    }
    return path.toString().replace('\\', '/');
  }

  /** What to treat a file as, or null for a binary to skip. */
  static String contentTypeOf(String path, byte[] bytes) {
    String file = path.substring(path.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
    int dot = file.lastIndexOf('.');
    String extension = dot < 0 ? file : file.substring(dot + 1);
    switch (extension) {
      case "pdf":
        return Extractor.PDF;
      case "docx":
        return Extractor.DOCX;
      case "md", "markdown":
        return "text/markdown";
      case "html", "htm":
        return "text/html";
      default:
        break;
    }
    boolean knownText = TEXT_EXTENSIONS.contains(extension) || dot < 0;
    if (!knownText || looksBinary(bytes)) {
      return null;
    }
    try {
      Extractor.utf8(bytes);
      return "text/plain";
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static boolean looksBinary(byte[] bytes) {
    int n = Math.min(bytes.length, 8192);
    for (int i = 0; i < n; i++) {
      if (bytes[i] == 0) {
        return true;
      }
    }
    return false;
  }
}
