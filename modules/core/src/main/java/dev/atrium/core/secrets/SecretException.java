package dev.atrium.core.secrets;

/** A secret could not be read; the message names its place ({@link SecretRef}) and never a value. */
public final class SecretException extends RuntimeException {
  public SecretException(String message) {
    super(message);
  }

  public SecretException(String message, Throwable cause) {
    super(message, cause);
  }
}
