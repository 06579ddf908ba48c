package dev.savepoint.cli;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.security.ManifestSigner;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Option;

/**
 * How a repository's backups are authenticated: an explicit HMAC key, else a key derived from the passphrase the
 * command is given; {@code --insecure-unsigned} to accept a repository nothing authenticates. Shared by every
 * command that names a repository ({@code --repo}, or a recovery file's {@code repository:}).
 */
final class TrustOptions {
  @Option(names = "--manifest-hmac-env", paramLabel = "<VAR>",
      description = "Sign manifests and documents with HMAC-SHA256 using the key (at least 32 bytes) in this "
          + "environment variable, and refuse those whose signature is missing or wrong (exit 3). Without it, a "
          + "passphrase (--passphrase-env, --encrypt-passphrase-env) signs with a key derived from it.")
  String hmacEnv;

  @Option(names = "--insecure-unsigned",
      description = "Accept a repository whose backups nothing authenticates (no passphrase, no --manifest-hmac-env): "
          + "anyone who can write it can then plant a backup that restore, drill and verify trust.")
  boolean insecureUnsigned;

  /** These options as typed (variable names, never values), to repeat in a command. */
  java.util.List<String> commandLine() {
    java.util.List<String> options = new java.util.ArrayList<>();
    if (hmacEnv != null) {
      options.addAll(java.util.List.of("--manifest-hmac-env", hmacEnv));
    }
    if (insecureUnsigned) {
      options.add("--insecure-unsigned");
    }
    return options;
  }

  /** {@code repository} with {@code secrets} as its keys and requirements, and the HMAC signer if one is given. */
  Repository apply(Repository repository, Secrets secrets) throws ConfigurationException {
    repository = repository.withSecrets(secrets);
    return hmacEnv == null ? repository : repository.signedWith(hmacFromEnv(hmacEnv));
  }

  /** HMAC-SHA256 with the key (at least 32 bytes) in environment variable {@code variable}. */
  static ManifestSigner hmacFromEnv(String variable) throws ConfigurationException {
    byte[] key = new String(SecretOptions.env(variable)).getBytes(StandardCharsets.UTF_8);
    if (key.length < 32) {
      throw new ConfigurationException("the HMAC key in " + variable + " must be at least 32 bytes");
    }
    return ManifestSigner.hmacSha256(key);
  }

  /**
   * {@code repository} if something authenticates it; else, with {@code --insecure-unsigned}, the same after a
   * warning, and without it a {@link ConfigurationException} (exit 2) saying what to supply.
   */
  Repository requireAuthentication(Repository repository) throws ConfigurationException {
    if (repository.authenticated()) {
      return repository;
    }
    java.util.Optional<String> signing = idOf(repository);
    if (!insecureUnsigned && signing.isPresent()) {
      throw new ConfigurationException("repository " + repository.describe() + " signs its backups (its id is "
          + signing.get() + "): supply the plan's key (--passphrase-env for a passphrase plan) or --manifest-hmac-env");
    }
    if (!insecureUnsigned) {
      throw new ConfigurationException("repository " + repository.describe() + ": nothing authenticates its backups, "
          + "so anyone who can write it could plant one. Supply the plan's key (--passphrase-env or "
          + "--encrypt-passphrase-env: manifests are signed with a key derived from it) or --manifest-hmac-env, or "
          + "accept the risk with --insecure-unsigned");
    }
    insecureNotice(repository.describe());
    return repository;
  }

  /** The id of a repository that already signs its backups; empty for one that never did, or cannot be read. */
  private static java.util.Optional<String> idOf(Repository repository) {
    try {
      return repository.id();
    } catch (java.io.IOException | RuntimeException e) {
      return java.util.Optional.empty();
    }
  }

  /** Said once per process on stderr, for every command that reads or writes an unauthenticated repository. */
  static void insecureNotice(String repository) {
    if (!NOTICED.add(repository)) {
      return;
    }
    System.err.println("savepoint: warning: " + repository + " is not authenticated (--insecure-unsigned): its "
        + "backups are trusted on the word of anyone who can write it");
  }

  private static final java.util.Set<String> NOTICED = java.util.concurrent.ConcurrentHashMap.newKeySet();
}
