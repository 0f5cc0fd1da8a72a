package dev.atrium.rag;

import dev.atrium.core.http.ApiError;
import java.io.ByteArrayInputStream;
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

  public static boolean isArchive(String contentType) {
    return TYPES.contains(Extractor.mediaType(contentType));
  }

  public static List<Entry> unpack(byte[] archive, String contentType, int maxFiles, long maxFileBytes) {
    String type = Extractor.mediaType(contentType);
    List<Entry> entries = new ArrayList<>();
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
        byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxFileBytes + 1));
        if (bytes.length > maxFileBytes) {
          throw ApiError.payloadTooLarge("'" + path + "' is larger than " + maxFileBytes
              + " bytes (max_document_bytes).").withExtension("limit_bytes", maxFileBytes);
        }
        String fileType = contentTypeOf(path, bytes);
        if (fileType != null) {
          entries.add(new Entry(path, bytes, fileType));
        }
      }
    } catch (IOException e) {
      throw ApiError.badRequest("invalid_archive", "The archive could not be read: " + e.getMessage());
    }
    return entries;
  }

  private static ArchiveInputStream<? extends ArchiveEntry> open(byte[] archive, String type) throws IOException {
    InputStream bytes = new ByteArrayInputStream(archive);
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
