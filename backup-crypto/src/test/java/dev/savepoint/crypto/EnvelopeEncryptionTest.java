package dev.savepoint.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.CryptoException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.TransformSpec;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.testkit.FakeKmsServer;
import dev.savepoint.testkit.Gpg;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

class EnvelopeEncryptionTest {
  @TempDir
  Path tmp;

  final InMemoryStore store = new InMemoryStore();
  final Repository repo = new Repository(store);
  final byte[] data = data();

  static byte[] data() {
    byte[] b = new byte[300_000];
    new Random(9).nextBytes(b);
    return b;
  }

  Manifest backup(KeyEncryptionKey kek) throws Exception {
    return BackupPlan.builder("db").source(StreamSource.of("dump.sql", ByteSource.wrap(data)))
        .transform(Transforms.zstd()).transform(EnvelopeEncryption.with(kek)).repository(repo).build().run().manifest();
  }

  byte[] restore(Manifest m, Secrets secrets) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    repo.restore(m, StreamTarget.stream(out), secrets);
    return out.toByteArray();
  }

  static KmsClient kms(FakeKmsServer server) {
    return KmsClient.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test"))).build();
  }

  @Test
  void localKeyFileEnvelopeRoundTripAndRotation() throws Exception {
    Path kekFile = tmp.resolve("kek.key");
    LocalKeyEncryptionKey kek = LocalKeyEncryptionKey.generate(kekFile);
    Manifest first = backup(kek);
    Manifest second = backup(kek);
    TransformSpec a = first.artifacts().get(0).transforms().get(1);
    TransformSpec b = second.artifacts().get(0).transforms().get(1);
    assertThat(a.params()).containsEntry("kek", "local").containsEntry("keyId", kek.keyId());
    assertThat(a.param("wrappedKey")).as("a fresh data key per backup").isNotEqualTo(b.param("wrappedKey"));
    assertThat(restore(first, Secrets.none())).isEqualTo(data);

    Path newFile = tmp.resolve("kek2.key");
    LocalKeyEncryptionKey newKek = LocalKeyEncryptionKey.generate(newFile);
    String storedBefore = first.artifacts().get(0).storedSha256();
    Manifest rotated = EnvelopeEncryption.rotate(repo, first, Secrets.none(), newKek);
    assertThat(rotated.artifacts().get(0).storedSha256()).isEqualTo(storedBefore);
    assertThat(repo.manifest("db", first.id()).artifacts().get(0).transforms().get(1).params())
        .containsEntry("keyId", newKek.keyId());
    assertThat(restore(repo.manifest("db", first.id()), Secrets.none())).isEqualTo(data);
  }

  @Test
  void wrongLocalKeyIsAClearCryptoError() throws Exception {
    LocalKeyEncryptionKey kek = LocalKeyEncryptionKey.generate(tmp.resolve("a.key"));
    Manifest m = backup(kek);
    Path other = tmp.resolve("b.key");
    LocalKeyEncryptionKey.generate(other);
    TransformSpec spec = m.artifacts().get(0).transforms().get(1);
    Secrets wrongFile = name -> name.equals(EnvelopeEncryption.LOCAL_KEY_FILE)
        ? Optional.of(other.toString().toCharArray()) : Optional.empty();
    // A fresh JVM would not have the key registered: rebuild from the spec with only the wrong file given.
    TransformSpec unregistered = new TransformSpec(spec.name(), new java.util.HashMap<>(spec.params()) {
      {
        put("keyId", "0000000000000000");
      }
    });
    assertThatThrownBy(() -> new EnvelopeEncryption.Provider().restore(unregistered, wrongFile))
        .isInstanceOf(CryptoException.class).hasMessageContaining("0000000000000000");
    assertThatThrownBy(() -> LocalKeyEncryptionKey.fromFile(other).unwrap(Base64.getDecoder().decode(spec.param("wrappedKey"))))
        .isInstanceOf(CryptoException.class).hasMessageContaining("wrong key file");
  }

  @Test
  void awsKmsThroughTheRealSdkAgainstAProtocolDouble() throws Exception {
    try (FakeKmsServer server = new FakeKmsServer(); KmsClient kms = kms(server); Gpg gpg = new Gpg(tmp)) {
      AwsKmsKeyEncryptionKey kek = new AwsKmsKeyEncryptionKey(kms, "alias/trpg-backups");
      Manifest m = backup(kek);
      assertThat(server.requests()).isEqualTo(1); // one GenerateDataKey per backup
      assertThat(restore(m, Secrets.none())).isEqualTo(data);
      try (InputStream in = store.get("db/" + m.id() + "/manifest.json")) {
        String manifest = new String(in.readAllBytes());
        assertThat(manifest).contains("aws-kms", "alias/trpg-backups", "wrappedKey");
      }

      // Manual recovery without Savepoint: KMS Decrypt of the wrapped key, then gpg with its hex form, then zstd.
      TransformSpec spec = m.artifacts().get(0).transforms().get(1);
      byte[] dataKey = kms.decrypt(r -> r.ciphertextBlob(SdkBytes.fromByteArray(
          Base64.getDecoder().decode(spec.param("wrappedKey"))))).plaintext().asByteArray();
      Path pass = Files.writeString(tmp.resolve("pass"), HexFormat.of().formatHex(dataKey));
      Path stored = tmp.resolve("dump.sql.zst.gpg");
      try (InputStream in = store.get(m.artifacts().get(0).key())) {
        Files.write(stored, in.readAllBytes());
      }
      Process p = new ProcessBuilder("sh", "-c", "gpg --homedir " + gpg.home() + " --batch --pinentry-mode loopback "
          + "--passphrase-file " + pass + " --decrypt " + stored + " 2>/dev/null | zstd -dc").start();
      byte[] recovered = p.getInputStream().readAllBytes();
      assertThat(p.waitFor()).isZero();
      assertThat(recovered).isEqualTo(data);

      Manifest rotated = EnvelopeEncryption.rotate(repo, m, Secrets.none(), new AwsKmsKeyEncryptionKey(kms, "alias/new-key"));
      assertThat(rotated.artifacts().get(0).transforms().get(1).params()).containsEntry("keyId", "alias/new-key");
      assertThat(restore(repo.manifest("db", m.id()), Secrets.none())).isEqualTo(data);
    }
  }
}
