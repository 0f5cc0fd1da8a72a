package dev.atrium.core.entity;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.annotation.JsonTypeIdResolver;
import dev.atrium.core.JsonSerializable;

/**
 * An entity's answer to a command: accepted with a value, or rejected with a reason, a
 * stable machine-readable code and a detail for people. One mapper in core
 * ({@code dev.atrium.core.http.Replies}) turns rejections into HTTP errors, so no route
 * matches an error string.
 */
public sealed interface Reply<T> extends JsonSerializable permits Reply.Accepted, Reply.Rejected {

  /** Why a command was refused; each maps to one HTTP status. */
  enum Reason {
    /** Unknown here, or another tenant's or owner's: 404, so existence is not revealed. */
    NOT_FOUND,
    /** The entity's state does not allow it now (exists already, finished, in use): 409. */
    CONFLICT,
    /** The command itself is wrong: 400. */
    INVALID,
    /** Something it needs (the database) cannot answer now; the same command may work later: 503. */
    UNAVAILABLE
  }

  /**
   * The command was carried out. {@code value} (null for commands that answer nothing) is
   * written with its class name, restricted to our own serializable types.
   */
  record Accepted<T>(
      @JsonTypeInfo(use = JsonTypeInfo.Id.CUSTOM, include = JsonTypeInfo.As.WRAPPER_ARRAY)
      @JsonTypeIdResolver(SerializableTypeIdResolver.class)
      T value) implements Reply<T> {}

  /** The command was refused; nothing changed. */
  record Rejected<T>(Reason reason, String code, String detail) implements Reply<T> {}

  static <T> Reply<T> accepted(T value) {
    return new Accepted<>(value);
  }

  /** Accepted, with nothing to say. */
  static <T> Reply<T> ok() {
    return new Accepted<>(null);
  }

  static <T> Reply<T> notFound(String detail) {
    return new Rejected<>(Reason.NOT_FOUND, "not_found", detail);
  }

  static <T> Reply<T> conflict(String code, String detail) {
    return new Rejected<>(Reason.CONFLICT, code, detail);
  }

  static <T> Reply<T> invalid(String code, String detail) {
    return new Rejected<>(Reason.INVALID, code, detail);
  }

  static <T> Reply<T> unavailable(String code, String detail) {
    return new Rejected<>(Reason.UNAVAILABLE, code, detail);
  }

  default boolean accepted() {
    return this instanceof Accepted;
  }

  /** The accepted value, for a caller that knows the command was accepted; a rejection throws, naming its code. */
  default T orElseThrow() {
    if (this instanceof Rejected<T> rejected) {
      throw new IllegalStateException("rejected: " + rejected.code() + ": " + rejected.detail());
    }
    return ((Accepted<T>) this).value();
  }
}
