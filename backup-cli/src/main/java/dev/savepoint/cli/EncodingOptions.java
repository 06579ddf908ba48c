package dev.savepoint.cli;

import dev.savepoint.core.Transform;
import dev.savepoint.crypto.AwsKmsKeyEncryptionKey;
import dev.savepoint.crypto.EnvelopeEncryption;
import dev.savepoint.crypto.LocalKeyEncryptionKey;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;
import software.amazon.awssdk.services.kms.KmsClient;

/** How stored bytes are compressed and encrypted: shared by backup, basebackup and the wal commands. */
final class EncodingOptions {
  @Option(names = "--compress", defaultValue = "zstd", description = "gzip, zstd or none (default: ${DEFAULT-VALUE}).")
  String compress;

  @Option(names = "--level", description = "Compression level (gzip 1-9, default 6; zstd 1-19, default 3).")
  Integer level;

  @Option(names = "--encrypt-passphrase-env", paramLabel = "<VAR>",
      description = "Encrypt with OpenPGP (AES-256) using the passphrase in this environment variable.")
  String encryptPassphraseEnv;

  @Option(names = "--encrypt-recipient", paramLabel = "<keyfile>",
      description = "Encrypt with OpenPGP to the public key(s) in this gpg-exported file (repeatable).")
  List<Path> recipients = new ArrayList<>();

  @Option(names = "--kms-key-id", paramLabel = "<id|alias|arn>",
      description = "Envelope encryption: a fresh data key per backup from AWS KMS (region, credentials and "
          + "AWS_ENDPOINT_URL_KMS from the environment); artifacts stay OpenPGP messages.")
  String kmsKeyId;

  @Option(names = "--kek-file", paramLabel = "<file>",
      description = "Envelope encryption under a local 32-byte key file instead of KMS.")
  Path kekFile;

  /** The transforms, in backup order: compression, then encryption. */
  List<Transform> transforms() throws IOException {
    List<Transform> chain = new ArrayList<>();
    TransformChoices.compression(compress, level).ifPresent(chain::add);
    TransformChoices.openPgp(encryptPassphraseEnv, recipients).ifPresent(chain::add);
    if (kmsKeyId != null) {
      chain.add(EnvelopeEncryption.with(new AwsKmsKeyEncryptionKey(KmsClient.create(), kmsKeyId)));
    } else if (kekFile != null) {
      chain.add(EnvelopeEncryption.with(LocalKeyEncryptionKey.fromFile(kekFile)));
    }
    return chain;
  }
}
