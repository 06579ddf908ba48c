package dev.savepoint.core;

import java.util.Optional;

/**
 * Where restore-time transforms get key material (passphrases, key files) from. Implementations never log
 * or print the values they return.
 */
@FunctionalInterface
public interface Secrets {
  /** The secret named {@code name}, e.g. {@code "openpgp.passphrase"}. */
  Optional<char[]> get(String name);

  static Secrets none() {
    return name -> Optional.empty();
  }
}
