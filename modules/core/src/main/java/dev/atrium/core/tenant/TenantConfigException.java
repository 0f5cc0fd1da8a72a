package dev.atrium.core.tenant;

import java.util.List;

/** A tenant file that cannot be used; the message names the file, the field and the reason. */
public final class TenantConfigException extends RuntimeException {
  private final List<String> problems;

  public TenantConfigException(List<String> problems) {
    super("invalid tenant configuration:\n  " + String.join("\n  ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
