package dev.atrium.core.db;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import io.zonky.test.db.postgres.embedded.PgBinaryResolver;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;

/**
 * Hands zonky's embedded PostgreSQL 15 its binaries with pgvector added.
 *
 * <p>{@code tools/ensure-pgvector} builds pgvector once into a machine-wide cache (Debian
 * bookworm has no package for PostgreSQL 15). Here its files are packed, once, into a copy
 * of zonky's binary archive kept beside them; zonky unpacks that archive like its own.
 */
public final class PgvectorBinaries {
  private static final String LIB_DIR = "lib/postgresql/";
  private static final String EXTENSION_DIR = "share/postgresql/extension/";

  /** One instance: zonky caches unpacked binaries per resolver instance. */
  private static final PgBinaryResolver RESOLVER = PgvectorBinaries::open;

  private PgvectorBinaries() {}

  public static PgBinaryResolver resolver() {
    return RESOLVER;
  }

  /** Where tools/ensure-pgvector puts its build ({@code ATRIUM_PGVECTOR_DIR} moves it). */
  public static Path pgvectorDir() {
    String explicit = System.getenv("ATRIUM_PGVECTOR_DIR");
    if (explicit != null && !explicit.isBlank()) {
      return Path.of(explicit);
    }
    String cache = System.getenv("XDG_CACHE_HOME");
    Path base = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("atrium").resolve("pgvector-pg15");
  }

  private static InputStream open(String system, String architecture) throws IOException {
    return Files.newInputStream(archive(system, architecture));
  }

  private static synchronized Path archive(String system, String architecture) throws IOException {
    Path dir = pgvectorDir();
    Path library = dir.resolve("lib/vector.so");
    Path control = dir.resolve("share/extension/vector.control");
    if (!Files.isRegularFile(library) || !Files.isRegularFile(control)) {
      throw new IllegalStateException("pgvector for PostgreSQL 15 is not in " + dir
          + ": run tools/ensure-pgvector once (./atrium test and ./atrium serve run it for you)");
    }
    byte[] original;
    try (InputStream in = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(system, architecture)) {
      if (in == null) {
        throw new IllegalStateException("zonky has no PostgreSQL binaries for " + system + " " + architecture);
      }
      original = in.readAllBytes();
    }
    String key = digest(original, library, control);
    Path target = dir.resolve("postgres-" + system.toLowerCase() + "-" + architecture + "-" + key + ".txz");
    if (Files.isRegularFile(target)) {
      return target;
    }
    Path temporary = Files.createTempFile(dir, ".postgres-", ".txz.part");
    try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(temporary));
         XZOutputStream xz = new XZOutputStream(file, new LZMA2Options(1));
         TarArchiveOutputStream tar = new TarArchiveOutputStream(xz);
         TarArchiveInputStream source = new TarArchiveInputStream(new XZInputStream(new ByteArrayInputStream(original)))) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      TarArchiveEntry entry;
      while ((entry = source.getNextEntry()) != null) {
        tar.putArchiveEntry(entry);
        if (entry.isFile()) {
          source.transferTo(tar);
        }
        tar.closeArchiveEntry();
      }
      add(tar, library, LIB_DIR + "vector.so", 0755);
      for (Path extension : extensionFiles(dir.resolve("share/extension"))) {
        add(tar, extension, EXTENSION_DIR + extension.getFileName(), 0644);
      }
    }
    Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return target;
  }

  private static List<Path> extensionFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private static void add(TarArchiveOutputStream tar, Path file, String name, int mode) throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(Files.size(file));
    entry.setMode(TarArchiveEntry.DEFAULT_FILE_MODE & ~0777 | mode);
    tar.putArchiveEntry(entry);
    Files.copy(file, tar);
    tar.closeArchiveEntry();
  }

  private static String digest(byte[] original, Path... files) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(original);
      for (Path file : files) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
          in.transferTo(OutputStream.nullOutputStream());
        }
      }
      return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
