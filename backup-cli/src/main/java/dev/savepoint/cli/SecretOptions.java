package dev.savepoint.cli;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Secrets;
import dev.savepoint.crypto.EnvelopeEncryption;
import dev.savepoint.crypto.OpenPgpEncryption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Restore-time secrets. Passphrases are read from environment variables named on the command line, never
 * from the command line itself (which {@code ps} shows to every user).
 */
final class SecretOptions {
  @Option(names = "--passphrase-env", paramLabel = "<VAR>",
      description = "Environment variable holding the OpenPGP passphrase of encrypted backups.")
  String passphraseEnv;

  @Option(names = "--secret-key", paramLabel = "<file>",
      description = "OpenPGP secret key file (gpg --export-secret-keys) for public-key encrypted backups.")
  Path secretKey;

  @Option(names = "--secret-key-passphrase-env", paramLabel = "<VAR>",
      description = "Environment variable holding the passphrase protecting --secret-key.")
  String secretKeyPassphraseEnv;

  @Option(names = "--kek-file", paramLabel = "<file>",
      description = "Local key-encryption-key file of envelope-encrypted backups (KMS keys need no option).")
  Path kekFile;

  Secrets secrets() throws ConfigurationException {
    Map<String, char[]> values = new HashMap<>();
    if (passphraseEnv != null) {
      values.put(OpenPgpEncryption.PASSPHRASE, env(passphraseEnv));
    }
    if (secretKey != null) {
      values.put(OpenPgpEncryption.SECRET_KEY_FILE, secretKey.toAbsolutePath().toString().toCharArray());
    }
    if (kekFile != null) {
      values.put(EnvelopeEncryption.LOCAL_KEY_FILE, kekFile.toAbsolutePath().toString().toCharArray());
    }
    if (secretKeyPassphraseEnv != null) {
      values.put(OpenPgpEncryption.SECRET_KEY_PASSPHRASE, env(secretKeyPassphraseEnv));
    }
    return name -> Optional.ofNullable(values.get(name)).map(char[]::clone);
  }

  /** These options as typed (environment variable names and file paths, never values), to repeat in a command. */
  java.util.List<String> commandLine() {
    java.util.List<String> options = new java.util.ArrayList<>();
    if (passphraseEnv != null) {
      options.addAll(java.util.List.of("--passphrase-env", passphraseEnv));
    }
    if (secretKey != null) {
      options.addAll(java.util.List.of("--secret-key", secretKey.toString()));
    }
    if (secretKeyPassphraseEnv != null) {
      options.addAll(java.util.List.of("--secret-key-passphrase-env", secretKeyPassphraseEnv));
    }
    if (kekFile != null) {
      options.addAll(java.util.List.of("--kek-file", kekFile.toString()));
    }
    return options;
  }

  static char[] env(String variable) throws ConfigurationException {
    String value = System.getenv(variable);
    if (value == null || value.isEmpty()) {
      throw new ConfigurationException("environment variable " + variable + " is not set or empty");
    }
    return value.toCharArray();
  }
}
