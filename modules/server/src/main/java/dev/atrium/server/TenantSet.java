package dev.atrium.server;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.atrium.core.Json;
import dev.atrium.core.JsonSerializable;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The tenant configuration one reload published to the cluster (distributed data, one
 * last-writer-wins register): the files' texts, not parsed objects, so every node parses and
 * checks them with its own environment and files beside them. The texts travel as one
 * gzipped JSON object (base64), which keeps a set of many tenants within one remote message.
 * Version 0 with no files is the register's empty start (nothing was ever published).
 *
 * @param version the cluster-wide number of this set, one above every version seen before it
 * @param setSha256 the SHA-256 of the set (each tenant id and the SHA-256 of its file, in id order)
 * @param files the tenant files' texts by file name, as a gzipped JSON object in base64
 * @param publishedBy the address of the node that read and checked the files
 */
record TenantSet(long version, String setSha256, String files, String publishedBy) implements JsonSerializable {
  /** What a set may take, compressed: below Artery's default maximum frame (256 KiB) with room for the rest. */
  static final int MAX_COMPRESSED_BYTES = 192 * 1024;
  static final TenantSet NONE = new TenantSet(0, "", pack(new TreeMap<>()), "");

  /** The files' texts by file name. */
  SortedMap<String, String> texts() {
    try (var in = new GZIPInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(files)))) {
      return Json.MAPPER.readValue(in, new TypeReference<TreeMap<String, String>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String pack(SortedMap<String, String> files) {
    var bytes = new ByteArrayOutputStream();
    try (var out = new GZIPOutputStream(bytes)) {
      Json.MAPPER.writeValue(out, files);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Base64.getEncoder().encodeToString(bytes.toByteArray());
  }

  /**
   * What one node has applied, as the other nodes and the admin view read it (distributed
   * data, one entry per node). A node that could not apply a set keeps the one it had: then
   * {@code failedVersion} and {@code problems} say which and why.
   *
   * @param version the version of the set this node answers with now (0: its own files, as read at start)
   * @param tenants each tenant's content hashes, by tenant id
   * @param failedVersion the last version this node refused (0: none since the one it applies)
   * @param problems why it refused {@code failedVersion} (the same messages as at start)
   */
  record NodeState(String node, long version, String setSha256, Map<String, TenantHashes> tenants, long failedVersion,
      List<String> problems, String updatedAt) implements JsonSerializable {
    NodeState {
      tenants = Map.copyOf(tenants);
      problems = List.copyOf(problems);
    }

    /** Whether this node has answered {@code v}: applied it (or a later set), or refused it. */
    boolean answered(long v) {
      return version >= v || failedVersion >= v;
    }
  }

  /**
   * A tenant's content hash: {@code sha256} of its file (of its canonical JSON for tenants
   * built in memory), and {@code apiKeysSha256} of its keys' hashes in id order, so a key
   * that differs between nodes shows apart from other changes.
   */
  record TenantHashes(String sha256, String apiKeysSha256) implements JsonSerializable {}
}
