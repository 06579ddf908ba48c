package dev.savepoint.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.security.ManifestSigner;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer of the repository without the plan's passphrase cannot make a reader that holds it decode a weaker backup
 * or accept another repository's: an encrypted plan is signed with a key derived from its passphrase and the
 * repository's id, with no setting.
 */
class AuthenticatedByDefaultTest {
  @TempDir
  Path tmp;

  static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();

  static Secrets passphrase() {
    return Secrets.of(Map.of(OpenPgpEncryption.PASSPHRASE, PASSPHRASE));
  }

  static Manifest backup(Repository repo, String text, boolean encrypted) throws Exception {
    BackupPlan.Builder plan = BackupPlan.builder("db").repository(repo).transform(Transforms.zstd())
        .source(StreamSource.of("dump.sql", ByteSource.wrap(text.getBytes(StandardCharsets.UTF_8))));
    if (encrypted) {
      plan.transform(OpenPgpEncryption.passphrase(PASSPHRASE.clone()));
    }
    return plan.build().run().manifest();
  }

  static String restore(Repository repo, Manifest m, Secrets secrets) throws Exception {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    repo.restore(m, StreamTarget.stream(out), secrets);
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void anEncryptedPlanIsSignedWithNoSettingAndAPlantedPlainBackupIsNeitherListedNorDecoded() throws Exception {
    Path dir = tmp.resolve("repo");
    Repository owner = new Repository(new FilesystemStore(dir));
    Manifest genuine = backup(owner, "genuine rows", true);
    assertThat(dir.resolve("db/" + genuine.id() + "/" + Repository.SIGNATURE)).exists();
    assertThat(dir.resolve(Repository.ID_KEY)).exists();

    // The attacker writes a newer backup of the same plan in the clear: no passphrase, so no signature.
    Repository attacker = new Repository(new FilesystemStore(dir));
    Manifest planted = backup(attacker, "\\! touch /tmp/pwned", false);

    Repository reader = new Repository(new FilesystemStore(dir)).withSecrets(passphrase());
    assertThat(reader.authenticated()).isTrue();
    assertThat(reader.select("db", BackupSelector.latest()).id()).isEqualTo(genuine.id());
    assertThat(reader.damaged("db")).singleElement().satisfies(d -> {
      assertThat(d.id()).isEqualTo(planted.id());
      assertThat(d.reason()).contains("is not signed");
    });
    // Handed the planted manifest directly (as a caller who listed without keys would), the reader refuses it.
    assertThatThrownBy(() -> restore(attacker, planted, passphrase())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("is not signed");
    assertThat(restore(reader, reader.select("db", BackupSelector.latest()), reader.secrets()))
        .isEqualTo("genuine rows");
  }

  @Test
  void aPassphraseRefusesPlainArtifactsBeforeDecodingThemEvenUnderAValidSignature() throws Exception {
    // Even a manifest signed with a shared HMAC key (say, by a careless tool) does not make plain bytes acceptable to
    // a reader who says the plan is encrypted.
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")))
        .signedWith(ManifestSigner.hmacSha256(new byte[32]));
    Manifest plain = backup(repo, "\\! id", false);
    assertThatThrownBy(() -> repo.openRaw(plain.artifacts().get(0), passphrase()))
        .isInstanceOf(IntegrityException.class)
        .hasMessageContaining("is stored through [zstd], but the key supplied (openpgp.passphrase) requires openpgp");
  }

  @Test
  void aBackupCopiedFromAnotherRepositoryWithTheSamePassphraseIsRefused() throws Exception {
    Path production = tmp.resolve("production");
    Path staging = tmp.resolve("staging");
    Manifest prod = backup(new Repository(new FilesystemStore(production)), "production rows", true);
    Manifest stage = backup(new Repository(new FilesystemStore(staging)), "staging rows", true);
    assertThat(Files.readString(production.resolve(Repository.ID_KEY)))
        .isNotEqualTo(Files.readString(staging.resolve(Repository.ID_KEY)));

    // The attacker copies staging's (newer, genuinely signed) backup into production, signature and all.
    copyTree(staging.resolve("db/" + stage.id()), production.resolve("db/" + stage.id()));
    Repository reader = new Repository(new FilesystemStore(production)).withSecrets(passphrase());
    assertThat(reader.select("db", BackupSelector.latest()).id()).isEqualTo(prod.id());
    assertThat(reader.damaged("db")).singleElement().satisfies(d -> assertThat(d.reason())
        .contains("copied from another repository"));
    assertThatThrownBy(() -> restore(reader, stage, reader.secrets())).isInstanceOf(IntegrityException.class);

    // The same with an explicit HMAC key shared by both repositories: the signature covers the repository's id.
    byte[] key = "a manifest key shared by two repos".getBytes(StandardCharsets.UTF_8);
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    backup(new Repository(new FilesystemStore(a)).signedWith(ManifestSigner.hmacSha256(key)), "a", false);
    Manifest fromB = backup(new Repository(new FilesystemStore(b)).signedWith(ManifestSigner.hmacSha256(key)), "b",
        false);
    copyTree(b.resolve("db/" + fromB.id()), a.resolve("db/" + fromB.id()));
    Repository readerA = new Repository(new FilesystemStore(a)).signedWith(ManifestSigner.hmacSha256(key));
    assertThatThrownBy(() -> readerA.manifest("db", fromB.id())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("copied from another repository");
  }

  @Test
  void theSigningKeyIsNotThePassphraseAndNothingSecretIsStored() throws Exception {
    Path dir = tmp.resolve("repo");
    Manifest m = backup(new Repository(new FilesystemStore(dir)), "rows", true);
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).as(f.toString())
            .doesNotContain(new String(PASSPHRASE));
      }
    }
    // A reader with a wrong passphrase derives another key: the signature, not only decryption, fails.
    Repository wrong = new Repository(new FilesystemStore(dir))
        .withSecrets(Secrets.of(Map.of(OpenPgpEncryption.PASSPHRASE, "wrong".toCharArray())));
    assertThatThrownBy(() -> wrong.manifest("db", m.id())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("signature check");
  }

  static Manifest backupWith(Repository repo, String text, char[] passphrase) throws Exception {
    return BackupPlan.builder("db").repository(repo).transform(Transforms.zstd())
        .source(StreamSource.of("dump.sql", ByteSource.wrap(text.getBytes(StandardCharsets.UTF_8))))
        .transform(OpenPgpEncryption.passphrase(passphrase.clone())).build().run().manifest();
  }

  @Test
  void aBackupPlantedUnderAnotherPassphraseIsSkippedAndOnlyAWrongPassphraseForAllIsCalledWrong() throws Exception {
    Path dir = tmp.resolve("repo");
    Manifest genuine = backup(new Repository(new FilesystemStore(dir)), "genuine rows", true);
    // The attacker encrypts and signs with a passphrase of their own: signature and check value both differ.
    Manifest planted = backupWith(new Repository(new FilesystemStore(dir)), "planted rows", "the attacker's".toCharArray());
    Repository reader = new Repository(new FilesystemStore(dir)).withSecrets(passphrase());
    assertThat(reader.select("db", BackupSelector.latest()).id()).isEqualTo(genuine.id());
    assertThat(reader.damaged("db")).singleElement().satisfies(d -> {
      assertThat(d.id()).isEqualTo(planted.id());
      assertThat(d.reason()).contains("another passphrase");
    });
    Repository wrong = new Repository(new FilesystemStore(dir))
        .withSecrets(Secrets.of(Map.of(OpenPgpEncryption.PASSPHRASE, "neither".toCharArray())));
    assertThatThrownBy(() -> wrong.select("db", BackupSelector.latest()))
        .isInstanceOf(dev.savepoint.core.CryptoException.class).hasMessageContaining("wrong passphrase");
  }

  @Test
  void adoptionSignsOnlyWhatPredatesSigningAndAMissingIdIsNeverMadeAnew() throws Exception {
    Path dir = tmp.resolve("repo");
    Manifest legacy = backup(new Repository(new FilesystemStore(dir)), "legacy rows", true);
    // As a repository written before signing was the default: no id, no signatures.
    Files.delete(dir.resolve("db/" + legacy.id() + "/" + Repository.SIGNATURE));
    Files.delete(dir.resolve(Repository.ID_KEY));
    Files.delete(dir.resolve(Repository.SIGNING_SINCE_KEY));
    Files.delete(dir.resolve(Repository.SIGNING_SINCE_KEY + ".sig"));
    Repository keyed = new Repository(new FilesystemStore(dir)).withSecrets(passphrase());
    assertThat(keyed.list("db")).isEmpty();
    assertThat(keyed.adopt("db", null, dev.savepoint.core.Verifiers.standard(true, passphrase()), false))
        .singleElement().satisfies(a -> assertThat(a.outcome()).isEqualTo("signed"));
    assertThat(keyed.list("db")).extracting(Manifest::id).containsExactly(legacy.id());

    // Later, a backup copied from another repository with the same passphrase, its signature removed.
    Thread.sleep(1100); // the store's clock has whole seconds on some filesystems
    Path other = tmp.resolve("other");
    Manifest foreign = backup(new Repository(new FilesystemStore(other)), "foreign rows", true);
    copyTree(other.resolve("db/" + foreign.id()), dir.resolve("db/" + foreign.id()));
    Files.delete(dir.resolve("db/" + foreign.id() + "/" + Repository.SIGNATURE));
    assertThat(keyed.adopt("db", null, dev.savepoint.core.Verifiers.standard(true, passphrase()), false))
        .anySatisfy(a -> {
          assertThat(a.id()).isEqualTo(foreign.id());
          assertThat(a.outcome()).isEqualTo("left unsigned");
          assertThat(a.detail()).contains("after this repository began signing");
        });
    assertThat(keyed.list("db")).extracting(Manifest::id).containsExactly(legacy.id());
    // When signing began is a signed record: moving it (to make the copy look older) stops adoption altogether.
    Files.writeString(dir.resolve(Repository.SIGNING_SINCE_KEY), "2099-01-01T00:00:00Z");
    assertThatThrownBy(() -> keyed.adopt("db", null, dev.savepoint.core.Verifiers.standard(true, passphrase()), false))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("predate its signing");

    // The id deleted from a repository that signs: the next backup refuses to make a new one.
    Files.delete(dir.resolve(Repository.ID_KEY));
    assertThatThrownBy(() -> backup(new Repository(new FilesystemStore(dir)), "more rows", true))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("holds signed backups");
  }

  static void copyTree(Path from, Path to) throws Exception {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : files.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
