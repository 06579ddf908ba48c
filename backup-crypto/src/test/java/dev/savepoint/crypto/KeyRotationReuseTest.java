package dev.savepoint.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Transform;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Incremental reuse follows the key: a changed passphrase stores every object again under the new one. */
class KeyRotationReuseTest {
  @TempDir
  Path tmp;

  final Repository repo = new Repository(new InMemoryStore());

  Manifest backup(Path bucket, Transform encryption) throws Exception {
    return BackupPlan.builder("uploads").source(BucketSource.of(new FilesystemStore(bucket))).repository(repo)
        .transform(Transforms.zstd()).transform(encryption).build().run().manifest();
  }

  @Test
  void aRotatedPassphraseStopsReuse() throws Exception {
    Path bucket = Files.createDirectories(tmp.resolve("bucket"));
    Files.writeString(bucket.resolve("a.txt"), "alpha");
    Files.writeString(bucket.resolve("b.txt"), "beta");
    char[] old = "correct horse battery staple".toCharArray();
    char[] rotated = "a new passphrase after the leak".toCharArray();

    Manifest first = backup(bucket, OpenPgpEncryption.passphrase(old));
    assertThat(first.source().facts()).containsEntry("copiedObjects", 2);
    java.util.List<dev.savepoint.core.ArtifactRecord> objects = new java.util.ArrayList<>();
    dev.savepoint.core.ObjectIndex.forEach(repo, first, e -> objects.add(e.artifact()));
    assertThat(objects).hasSize(2);
    assertThat(objects.get(0).transforms().get(1).params().get("passphraseCheck"))
        .startsWith("pbkdf2-sha256:600000:").doesNotContain("correct horse");
    // The same passphrase in a new process (a new instance, another salt): reused.
    Manifest same = backup(bucket, OpenPgpEncryption.passphrase(old.clone()));
    assertThat(same.source().facts()).containsEntry("reusedObjects", 2).containsEntry("copiedObjects", 0);

    Manifest afterRotation = backup(bucket, OpenPgpEncryption.passphrase(rotated));
    assertThat(afterRotation.source().facts()).containsEntry("reusedObjects", 0).containsEntry("copiedObjects", 2);
    // The secrets are given once, to the repository: restore and round-trip verification use them.
    Repository keyed = repo.withSecrets(dev.savepoint.core.Secrets.of(
        java.util.Map.of(OpenPgpEncryption.PASSPHRASE, rotated)));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> repo.verify(afterRotation,
        dev.savepoint.core.Verifiers.standard(true))).as("without the key").isInstanceOf(dev.savepoint.core.CryptoException.class);
    assertThat(keyed.verify(afterRotation, dev.savepoint.core.Verifiers.standard(true))).allMatch(r -> r.passed());
    Path restored = tmp.resolve("restored");
    keyed.restore(afterRotation, new FilesTarget(restored, BucketSource.ARTIFACT_PREFIX, FilesTarget.UnsafeKeys.REFUSE));
    assertThat(restored.resolve("a.txt")).hasContent("alpha");
    assertThat(restored.resolve("b.txt")).hasContent("beta");
  }
}
