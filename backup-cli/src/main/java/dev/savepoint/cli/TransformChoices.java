package dev.savepoint.cli;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Transform;
import dev.savepoint.core.Transforms;
import dev.savepoint.crypto.OpenPgpEncryption;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The transforms the command line and plan files can ask for, built in one place. */
final class TransformChoices {
  private TransformChoices() {}

  /** {@code gzip}, {@code zstd} or {@code none} at {@code level} (null: the codec's default). */
  static Optional<Transform> compression(String name, Integer level) throws ConfigurationException {
    return switch (name) {
      case "gzip" -> Optional.of(level == null ? Transforms.gzip() : Transforms.gzip(level));
      case "zstd" -> Optional.of(level == null ? Transforms.zstd() : Transforms.zstd(level));
      case "none" -> {
        if (level != null) {
          throw new ConfigurationException("a compression level needs gzip or zstd, not compression 'none'");
        }
        yield Optional.empty();
      }
      default -> throw new ConfigurationException("compression must be gzip, zstd or none, not '" + name + "'");
    };
  }

  /**
   * OpenPGP encryption to the passphrase in environment variable {@code passphraseEnv} and/or the public keys
   * in {@code recipients}; empty if neither is given.
   */
  static Optional<Transform> openPgp(String passphraseEnv, List<Path> recipients) throws IOException {
    if (passphraseEnv == null && recipients.isEmpty()) {
      return Optional.empty();
    }
    OpenPgpEncryption.Builder pgp = OpenPgpEncryption.builder();
    if (passphraseEnv != null) {
      pgp.passphrase(SecretOptions.env(passphraseEnv));
    }
    for (Path keyFile : recipients) {
      pgp.recipientKeyFile(keyFile);
    }
    return Optional.of(pgp.build());
  }
}
