package dev.atrium.core.secrets;

import java.util.Objects;

/**
 * Where a secret lives, as a tenant file names it: an environment variable, a mounted file
 * (a Kubernetes Secret's key; re-read when it changes) or an AWS Secrets Manager secret by
 * name, optionally one field of its JSON value. Only the place is held, never the value, so
 * {@link #toString()} is safe in config dumps, logs and errors.
 */
public record SecretRef(Kind kind, String name, String field) {
  /** The kinds of place a secret comes from. */
  public enum Kind { ENV, FILE, AWS_SECRET }

  public SecretRef {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    if (field != null && kind != Kind.AWS_SECRET) {
      throw new IllegalArgumentException("a field applies to an AWS secret only");
    }
  }

  public static SecretRef env(String variable) {
    return new SecretRef(Kind.ENV, variable, null);
  }

  public static SecretRef file(String path) {
    return new SecretRef(Kind.FILE, path, null);
  }

  /** @param field the JSON field of the secret's string to use, or null for the whole string */
  public static SecretRef awsSecret(String name, String field) {
    return new SecretRef(Kind.AWS_SECRET, name, field);
  }

  /** The place, for messages: {@code env:NAME}, {@code file:/path}, {@code aws_secret:name#field}. */
  @Override
  public String toString() {
    return switch (kind) {
      case ENV -> "env:" + name;
      case FILE -> "file:" + name;
      case AWS_SECRET -> "aws_secret:" + name + (field == null ? "" : "#" + field);
    };
  }
}
