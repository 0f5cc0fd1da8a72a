package dev.atrium.core.secrets;

import java.util.Optional;

/** A secrets manager that answers a secret's current string by name ({@link AwsSecretsManager}). */
public interface SecretStore {
  /** No store configured: every lookup fails, naming the secret. */
  SecretStore NONE = name -> {
    throw new SecretException("no secrets manager is configured (atrium.secrets.aws) to read " + name);
  };

  /**
   * The secret's current string, or empty when the store has no such secret.
   *
   * @throws SecretException when the store cannot be asked; the message holds no value
   */
  Optional<String> fetch(String name);
}
