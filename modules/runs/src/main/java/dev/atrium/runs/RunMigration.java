package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads the run's events and snapshots of earlier versions (bound in the module's
 * {@code reference.conf}): since version 2 a run's {@link RunState.Spec} names its owner as
 * an {@link dev.atrium.core.tenant.Owner} (a user or a key) and records the account and tier
 * it was created with; version 1 held only {@code ownerKeyId}. That key becomes the owner
 * ({@code {"kind": "key", "id": ...}}); account and tier read as null, so the run is metered
 * as before, with its key's account and tier looked up in the tenant's config
 * ({@link RunUsage}). {@code Run.Created} and {@code RunState} carry the spec.
 */
public final class RunMigration extends JacksonMigration {

  @Override
  public int currentVersion() {
    return 2;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    if (fromVersion < 2 && json instanceof ObjectNode root && root.get("spec") instanceof ObjectNode spec
        && spec.has("ownerKeyId")) {
      JsonNode keyId = spec.remove("ownerKeyId");
      if (keyId.isTextual()) {
        spec.putObject("owner").put("kind", "key").put("id", keyId.textValue());
      } else {
        spec.putNull("owner");
      }
    }
    return json;
  }
}
