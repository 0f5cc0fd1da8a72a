package dev.atrium.core.tenant;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Who owns a resource a person creates (a session, a run): the user when a verified token
 * named one, else the API key. Stored as it is ({@code {"kind": "user", "id": ...}}) in
 * events and as {@code owner_kind}/{@code owner_id} in read tables, so the same user owns
 * the same sessions whichever device (token) they come from, and two keys of one tenant
 * never see each other's. Anonymous callers own nothing: they are stateless.
 */
public record Owner(Kind kind, String id) {

  public enum Kind {
    USER, KEY;

    @JsonValue
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static Kind of(String wire) {
      return switch (wire) {
        case "user" -> USER;
        case "key" -> KEY;
        default -> throw new IllegalArgumentException("unknown owner kind '" + wire + "'");
      };
    }
  }

  public Owner {
    Objects.requireNonNull(kind, "kind");
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException("an owner has an id");
    }
  }

  public static Owner user(String userId) {
    return new Owner(Kind.USER, userId);
  }

  public static Owner key(String keyId) {
    return new Owner(Kind.KEY, keyId);
  }

  /** The principal's user, else its key; empty for an anonymous caller. */
  public static Optional<Owner> of(Principal principal) {
    return switch (principal.kind()) {
      case USER -> Optional.of(user(principal.userId().orElseThrow()));
      case KEY -> Optional.of(key(principal.keyId().orElseThrow()));
      case ANONYMOUS -> Optional.empty();
    };
  }

  /** An owner as read tables hold it ({@code owner_kind}, {@code owner_id}); null for a row without one. */
  public static Owner fromColumns(String kind, String id) {
    return kind == null || id == null ? null : new Owner(Kind.of(kind), id);
  }

  @Override
  public String toString() {
    return kind.wireName() + ":" + id;
  }
}
