package dev.savepoint.crypto;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.CryptoException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.TransformProvider;
import dev.savepoint.core.TransformSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * OpenPGP encryption under a per-backup data key from a {@link KeyEncryptionKey} (envelope encryption). Each
 * backup gets a fresh 256-bit data key; its hex form is the OpenPGP passphrase, so every artifact stays a
 * standard OpenPGP message that {@code gpg} decrypts once the data key is unwrapped. The manifest records only
 * the wrapped data key, the KEK kind and key id.
 *
 * <p>Restore finds the KEK by its key id among {@linkplain #register registered} keys, else from
 * {@link Secrets}: {@value #LOCAL_KEY_FILE} (a local key file), else, for AWS KMS, a client configured by the
 * environment (region, credentials, {@code AWS_ENDPOINT_URL_KMS}). {@link #rotate} re-wraps the data keys of a
 * backup under a new KEK, rewriting only the manifest.
 */
public final class EnvelopeEncryption implements Transform {
  static final String NAME = "openpgp-envelope";
  public static final String LOCAL_KEY_FILE = "kek.local.file";
  private static final Map<String, KeyEncryptionKey> REGISTERED = new ConcurrentHashMap<>();

  private final KeyEncryptionKey kek;
  private final byte @Nullable [] wrappedKey;
  private final @Nullable OpenPgpEncryption pgp;

  private EnvelopeEncryption(KeyEncryptionKey kek, byte @Nullable [] wrappedKey, @Nullable OpenPgpEncryption pgp) {
    this.kek = kek;
    this.wrappedKey = wrappedKey;
    this.pgp = pgp;
  }

  /** Encrypts each backup under a fresh data key wrapped by {@code kek}. Also registers {@code kek}. */
  public static EnvelopeEncryption with(KeyEncryptionKey kek) {
    register(kek);
    return new EnvelopeEncryption(kek, null, null);
  }

  /** Makes {@code kek} available to restores in this JVM (by kind and key id). */
  public static void register(KeyEncryptionKey kek) {
    REGISTERED.put(kek.kind() + "/" + kek.keyId(), kek);
  }

  static char[] passphrase(byte[] dataKey) {
    return HexFormat.of().formatHex(dataKey).toCharArray();
  }

  @Override
  public Transform perBackup() throws IOException {
    KeyEncryptionKey.DataKey key = kek.generateDataKey();
    return new EnvelopeEncryption(kek, key.wrapped(), OpenPgpEncryption.passphrase(passphrase(key.plaintext())));
  }

  private OpenPgpEncryption pgp() {
    if (pgp == null) {
      throw new IllegalStateException("envelope encryption is used per backup: BackupPlan calls perBackup()");
    }
    return pgp;
  }

  @Override
  public TransformSpec spec() {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("cipher", "AES256");
    params.put("kek", kek.kind());
    params.put("keyId", kek.keyId());
    if (wrappedKey != null) {
      params.put("wrappedKey", Base64.getEncoder().encodeToString(wrappedKey));
    }
    return new TransformSpec(NAME, params);
  }

  @Override
  public OutputStream wrap(OutputStream downstream) throws IOException {
    return pgp().wrap(downstream);
  }

  @Override
  public InputStream unwrap(InputStream stored) throws IOException {
    return pgp().unwrap(stored);
  }

  @Override
  public String toString() {
    return "EnvelopeEncryption[" + kek + "]";
  }

  static KeyEncryptionKey findKek(TransformSpec spec, Secrets secrets) throws IOException {
    String kind = spec.param("kek");
    String keyId = spec.param("keyId");
    KeyEncryptionKey registered = REGISTERED.get(kind + "/" + keyId);
    if (registered != null) {
      return registered;
    }
    Optional<char[]> file = secrets.get(LOCAL_KEY_FILE);
    if (kind.equals("local") && file.isPresent()) {
      LocalKeyEncryptionKey local = LocalKeyEncryptionKey.fromFile(Path.of(new String(file.get())));
      if (!local.keyId().equals(keyId)) {
        throw new CryptoException("backup was encrypted under local key " + keyId + ", the given key file is "
            + local.keyId());
      }
      return local;
    }
    if (kind.equals("aws-kms")) {
      // A KMS client from the environment (region, credentials, AWS_ENDPOINT_URL_KMS): restores need no flags.
      KeyEncryptionKey fromEnvironment;
      try {
        fromEnvironment = AwsKmsKeyEncryptionKey.fromEnvironment(keyId);
      } catch (NoClassDefFoundError e) {
        throw new CryptoException("backup is encrypted under AWS KMS key " + keyId + ", and the AWS SDK's KMS client "
            + "is not on the classpath: add software.amazon.awssdk:kms (backup-crypto leaves it optional)");
      }
      register(fromEnvironment);
      return fromEnvironment;
    }
    throw new CryptoException("backup is encrypted under " + kind + " key " + keyId
        + "; supply the key file: in Java the secret \"" + LOCAL_KEY_FILE + "\" (its path) in the Secrets given "
        + "to the restore, in the CLI --kek-file FILE");
  }

  /**
   * Re-wraps every data key in {@code manifest} under {@code newKek} and replaces the manifest; the artifacts
   * are not touched. Returns the new manifest.
   */
  public static Manifest rotate(Repository repository, Manifest manifest, Secrets secrets, KeyEncryptionKey newKek)
      throws IOException {
    if (dev.savepoint.core.ObjectIndex.isIndexed(manifest)) {
      throw new CryptoException("backup " + manifest.id() + " keeps its objects' data keys in its object index, "
          + "which key rotation does not rewrite yet; nothing was changed. Take a new full backup under the new key "
          + "(BucketSource.fullCopies()) instead");
    }
    register(newKek);
    List<ArtifactRecord> artifacts = new ArrayList<>();
    for (ArtifactRecord a : manifest.artifacts()) {
      List<TransformSpec> chain = new ArrayList<>();
      for (TransformSpec t : a.transforms()) {
        if (t.name().equals(NAME)) {
          byte[] plaintext = findKek(t, secrets).unwrap(Base64.getDecoder().decode(t.param("wrappedKey")));
          Map<String, String> params = new LinkedHashMap<>(t.params());
          params.put("kek", newKek.kind());
          params.put("keyId", newKek.keyId());
          params.put("wrappedKey", Base64.getEncoder().encodeToString(newKek.wrap(plaintext)));
          chain.add(new TransformSpec(NAME, params));
        } else {
          chain.add(t);
        }
      }
      artifacts.add(new ArtifactRecord(a.name(), a.key(), a.rawBytes(), a.storedBytes(), a.rawSha256(),
          a.storedSha256(), chain, a.rawChunks()));
    }
    Manifest updated = manifest.withArtifacts(artifacts);
    repository.replaceManifest(updated);
    return updated;
  }

  /** Rebuilds the decrypting side: unwraps the data key with the KEK named in the manifest. */
  public static final class Provider implements TransformProvider {
    @Override
    public String name() {
      return NAME;
    }

    /** Holding a local key-encryption key means "this must be envelope-encrypted". */
    @Override
    public java.util.Set<String> demandingSecrets() {
      return java.util.Set.of(LOCAL_KEY_FILE);
    }

    @Override
    public Transform restore(TransformSpec spec, Secrets secrets) throws IOException {
      KeyEncryptionKey kek = findKek(spec, secrets);
      byte[] wrapped = Base64.getDecoder().decode(spec.param("wrappedKey"));
      return new EnvelopeEncryption(kek, wrapped, OpenPgpEncryption.passphrase(passphrase(kek.unwrap(wrapped))));
    }
  }
}
