package dev.atrium.runs;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.atrium.core.Json;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The run types, with their compiled input schemas. The modules that own a type register it
 * while the node is wired, before the runs module starts; from then on the set is fixed
 * (runs on every node must find the types their journals name).
 */
public final class RunTypes {
  private final Map<String, RunType> types = new LinkedHashMap<>();
  private final Map<String, JsonSchema> schemas = new LinkedHashMap<>();
  private boolean closed;

  public RunTypes register(RunType type) {
    if (closed) {
      throw new IllegalStateException("run type " + type.name() + " is registered after the runs module started");
    }
    if (types.putIfAbsent(type.name(), type) != null) {
      throw new IllegalArgumentException("run type " + type.name() + " is registered twice");
    }
    try {
      schemas.put(type.name(), JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
          .getSchema(Json.MAPPER.readTree(type.inputSchema())));
    } catch (Exception e) {
      throw new IllegalArgumentException("run type " + type.name() + " has an invalid input schema", e);
    }
    return this;
  }

  /** The runs module starts with these types: no more registrations. */
  RunTypes closeRegistration() {
    closed = true;
    return this;
  }

  public Optional<RunType> get(String name) {
    return Optional.ofNullable(types.get(name));
  }

  public List<String> names() {
    return types.keySet().stream().sorted().toList();
  }

  /** The input's schema violations, each naming the field: empty when valid. */
  public List<String> validate(String type, JsonNode input) {
    return schemas.get(type).validate(input).stream()
        .sorted(Comparator.comparing(m -> m.getInstanceLocation().toString()))
        .map(m -> {
          String location = m.getInstanceLocation().toString().replaceFirst("^\\$\\.?", "");
          String field = location.isEmpty() ? "input" : "input." + location;
          if (m.getProperty() != null && ("required".equals(m.getType()) || "additionalProperties".equals(m.getType()))) {
            field = field + "." + m.getProperty();
          }
          String reason = m.getMessage().replaceFirst("^\\$[^:]*: ", "");
          return field + ": " + reason;
        })
        .toList();
  }
}
