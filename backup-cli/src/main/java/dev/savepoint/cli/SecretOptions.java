package dev.savepoint.cli;

import dev.savepoint.core.Secrets;

/** Restore-time secrets for the CLI; filled in by the crypto module's options when it lands. */
final class SecretOptions {
  private SecretOptions() {}

  static Secrets fromEnvironment() {
    return Secrets.none();
  }
}
