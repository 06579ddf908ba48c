package dev.savepoint.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.CryptoException;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.testkit.Gpg;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OpenPGP interoperability with the real gpg 2.2 binary, both ways. */
class OpenPgpInteropTest {
  static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();

  @TempDir
  Path tmp;

  Gpg gpg;

  @BeforeEach
  void startGpg() throws IOException {
    gpg = new Gpg(tmp);
  }

  @AfterEach
  void stopGpg() throws Exception {
    gpg.close();
  }

  static byte[] data(int size) {
    byte[] b = new byte[size];
    new Random(size).nextBytes(b);
    return b;
  }

  static byte[] encrypt(OpenPgpEncryption t, byte[] plain) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream w = t.wrap(out)) {
      w.write(plain);
    }
    return out.toByteArray();
  }

  static byte[] decrypt(OpenPgpEncryption t, byte[] message) throws IOException {
    try (InputStream in = t.unwrap(new ByteArrayInputStream(message))) {
      return in.readAllBytes();
    }
  }

  Path write(String name, byte[] b) throws IOException {
    return Files.write(tmp.resolve(name), b);
  }

  @Test
  void gpgDecryptsOurPassphraseMessages() throws Exception {
    for (int size : new int[] {0, 1, 3 * 65536 + 5}) {
      byte[] plain = data(size);
      Path msg = write("m" + size + ".gpg", encrypt(OpenPgpEncryption.passphrase(PASSPHRASE), plain));
      byte[] out = gpg.run("--passphrase", new String(PASSPHRASE), "--decrypt", msg.toString());
      assertThat(out).isEqualTo(plain);
    }
  }

  /**
   * One instance derives its passphrase key once (one salt for all its messages: 0.1 s of hashing per artifact
   * otherwise), yet every message starts from its own random block: no two messages of the same bytes are
   * alike, gpg and a fresh instance read each, and one reader decrypts messages of different salts.
   */
  @Test
  void messagesOfOneInstanceShareTheDerivedKeyButNotTheirBytes() throws Exception {
    OpenPgpEncryption writer = OpenPgpEncryption.passphrase(PASSPHRASE);
    byte[] plain = data(70_000);
    byte[] first = encrypt(writer, plain);
    byte[] second = encrypt(writer, plain);
    assertThat(second).isNotEqualTo(first);
    // The passphrase packet (S2K: salt and count, 15 bytes with its header) is shared; the data is not.
    assertThat(Arrays.mismatch(first, second)).as("where the two messages first differ")
        .isGreaterThanOrEqualTo(15).isLessThan(first.length - plain.length);
    for (byte[] message : List.of(first, second)) {
      assertThat(gpg.run("--passphrase", new String(PASSPHRASE), "--decrypt", write("m.gpg", message).toString()))
          .isEqualTo(plain);
    }
    OpenPgpEncryption reader = OpenPgpEncryption.passphrase(PASSPHRASE);
    byte[] ofAnotherWriter = encrypt(OpenPgpEncryption.passphrase(PASSPHRASE), plain);
    for (byte[] message : List.of(first, second, ofAnotherWriter)) {
      assertThat(decrypt(reader, message)).isEqualTo(plain);
    }
    assertThatThrownBy(() -> decrypt(OpenPgpEncryption.passphrase("other".toCharArray()), first))
        .isInstanceOf(CryptoException.class);
  }

  @Test
  void weDecryptGpgSymmetricMessagesCompressedAndArmored() throws Exception {
    byte[] plain = ("compressible text ".repeat(20_000) + "end").getBytes();
    Path in = write("plain.txt", plain);
    for (String[] extra : new String[][] {{}, {"--armor"}, {"--compress-algo", "none"}}) {
      Path out = tmp.resolve("g" + extra.length + ".gpg");
      String[] args = concat(new String[] {"--passphrase", new String(PASSPHRASE), "--symmetric", "--cipher-algo",
          "AES256", "-o", out.toString()}, extra, new String[] {in.toString()});
      gpg.run(args);
      assertThat(decrypt(OpenPgpEncryption.passphrase(PASSPHRASE), Files.readAllBytes(out))).isEqualTo(plain);
    }
  }

  @Test
  void publicKeyEncryptionToRsaAndCurve25519BothWays() throws Exception {
    gpg.generateKey("Ops <ops@trpg.test>", "rsa3072");
    gpg.generateKey("Escrow <escrow@trpg.test>", "cv25519");
    Path opsPub = write("ops.asc", gpg.run("--armor", "--export", "ops@trpg.test"));
    Path escrowPub = write("escrow.asc", gpg.run("--armor", "--export", "escrow@trpg.test"));
    Path secrets = write("secret.asc", gpg.run("--armor", "--passphrase", "", "--export-secret-keys"));

    byte[] plain = data(200_000);
    OpenPgpEncryption toBoth = OpenPgpEncryption.builder().recipientKeyFile(opsPub).recipientKeyFile(escrowPub).build();
    assertThat(toBoth.spec().params().get("recipients")).contains(",");
    Path msg = write("pk.gpg", encrypt(toBoth, plain));
    assertThat(gpg.run("--decrypt", msg.toString())).isEqualTo(plain);

    // Each key alone decrypts: gpg with only the escrow secret key.
    gpg.run("--delete-secret-keys", fingerprint("ops@trpg.test"));
    assertThat(gpg.run("--decrypt", msg.toString())).isEqualTo(plain);

    // What gpg --encrypt -r writes, we read with the exported secret keys.
    Path plainFile = write("p.bin", plain);
    Path gpgMsg = tmp.resolve("from-gpg.gpg");
    gpg.run("--trust-model", "always", "--encrypt", "-r", "ops@trpg.test", "-o", gpgMsg.toString(), plainFile.toString());
    OpenPgpEncryption withKeys = OpenPgpEncryption.builder()
        .secretKeys(OpenPgpEncryption.readSecretKeys(secrets), null).build();
    assertThat(decrypt(withKeys, Files.readAllBytes(gpgMsg))).isEqualTo(plain);
    assertThat(decrypt(withKeys, Files.readAllBytes(msg))).isEqualTo(plain);
  }

  private String fingerprint(String uid) throws Exception {
    return new String(gpg.run("--with-colons", "--list-keys", uid)).lines().filter(l -> l.startsWith("fpr:"))
        .findFirst().orElseThrow().split(":")[9];
  }

  @Test
  void wrongPassphraseTamperingAndTruncationAreTypedErrors() throws Exception {
    byte[] plain = data(100_000);
    byte[] msg = encrypt(OpenPgpEncryption.passphrase(PASSPHRASE), plain);
    assertThatThrownBy(() -> decrypt(OpenPgpEncryption.passphrase("wrong".toCharArray()), msg))
        .isInstanceOf(CryptoException.class).hasMessageContaining("wrong passphrase")
        .hasMessageNotContaining("wrong".repeat(2));
    byte[] tampered = msg.clone();
    tampered[tampered.length / 2] ^= 0x01;
    assertThatThrownBy(() -> decrypt(OpenPgpEncryption.passphrase(PASSPHRASE), tampered))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("integrity");
    byte[] truncated = Arrays.copyOf(msg, msg.length - 30);
    assertThatThrownBy(() -> decrypt(OpenPgpEncryption.passphrase(PASSPHRASE), truncated))
        .isInstanceOf(IOException.class);
  }

  @Test
  void encryptedBackupRestoresAndRecoversManuallyWithGpgAndZstd() throws Exception {
    String canary = "canary-passphrase-" + System.nanoTime();
    InMemoryStore store = new InMemoryStore();
    Repository repo = new Repository(store);
    byte[] plain = ("INSERT INTO users VALUES ('勇者');\n".repeat(50_000)).getBytes();
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("database.sql", ByteSource.wrap(plain)))
        .transform(Transforms.zstd()).transform(OpenPgpEncryption.passphrase(canary.toCharArray()))
        .repository(repo).build().run().manifest();
    String key = m.artifacts().get(0).key();
    assertThat(key).endsWith("database.sql.zst.gpg");
    try (InputStream in = store.get("db/" + m.id() + "/manifest.json")) {
      assertThat(new String(in.readAllBytes())).doesNotContain(canary).contains("openpgp");
    }
    assertThat(OpenPgpEncryption.passphrase(canary.toCharArray()).toString()).doesNotContain(canary);

    Secrets secrets = name -> name.equals(OpenPgpEncryption.PASSPHRASE) ? Optional.of(canary.toCharArray()) : Optional.empty();
    ByteArrayOutputStream restored = new ByteArrayOutputStream();
    repo.restore(m, StreamTarget.stream(restored), secrets);
    assertThat(restored.toByteArray()).isEqualTo(plain);

    assertThatThrownBy(() -> repo.restore(m, StreamTarget.stream(new ByteArrayOutputStream()), Secrets.none()))
        .isInstanceOf(CryptoException.class).hasMessageContaining("--passphrase-env");

    // The README's manual recovery: gpg --decrypt file | zstd -d
    Path stored;
    try (InputStream in = store.get(key)) {
      stored = write("database.sql.zst.gpg", in.readAllBytes());
    }
    Path passFile = write("pass", canary.getBytes());
    Process p = new ProcessBuilder("sh", "-c", "gpg --homedir " + gpg.home() + " --batch --pinentry-mode loopback "
        + "--passphrase-file " + passFile + " --decrypt " + stored + " 2>/dev/null | zstd -dc").start();
    byte[] recovered = p.getInputStream().readAllBytes();
    assertThat(p.waitFor()).isZero();
    assertThat(recovered).isEqualTo(plain);
  }

  static String[] concat(String[]... parts) {
    return Arrays.stream(parts).flatMap(Arrays::stream).toArray(String[]::new);
  }

  static Map<String, String> none() {
    return Map.of();
  }
}
