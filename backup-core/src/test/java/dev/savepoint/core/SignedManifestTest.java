package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.security.ManifestSigner;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.InMemoryStore;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignedManifestTest {
  final InMemoryStore store = new InMemoryStore();

  Manifest backup(Repository repo) throws Exception {
    return BackupPlan.builder("db").source(StreamSource.of("a", ByteSource.wrap(new byte[500]))).repository(repo)
        .build().run().manifest();
  }

  void tamper(Manifest m) throws Exception {
    String key = "db/" + m.id() + "/manifest.json";
    String json;
    try (InputStream in = store.get(key)) {
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    store.put(key, ByteSource.wrap(json.replace("\"rawBytes\" : 500", "\"rawBytes\" : 501").getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void hmacSignedManifestsRefuseModification() throws Exception {
    Repository repo = new Repository(store).signedWith(ManifestSigner.hmacSha256(new byte[32]));
    Manifest m = backup(repo);
    assertThat(repo.list("db")).hasSize(1);
    assertThat(store.stat("db/" + m.id() + "/manifest.sig")).isPresent();
    tamper(m);
    // A damaged backup affects only itself: listings skip it and say why; reading it by id fails.
    assertThat(repo.list("db")).isEmpty();
    assertThat(repo.damaged("db")).singleElement().satisfies(d ->
        assertThat(d.reason()).contains("fails its hmac-sha256 signature check"));
    assertThatThrownBy(() -> repo.manifest("db", m.id())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("fails its hmac-sha256 signature check");
    assertThatThrownBy(() -> repo.select("db", BackupSelector.latest())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("damaged backups were skipped").hasMessageContaining(m.id());
    Repository otherKey = new Repository(store).signedWith(ManifestSigner.hmacSha256("x".repeat(32).getBytes()));
    assertThat(otherKey.list("db")).isEmpty();
  }

  @Test
  void ed25519VerifiesWithThePublicKeyAloneAndRefusesUnsigned() throws Exception {
    KeyPair keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Repository signing = new Repository(store).signedWith(ManifestSigner.ed25519(keys.getPrivate(), keys.getPublic()));
    Manifest m = backup(signing);
    Repository verifying = new Repository(store).signedWith(ManifestSigner.ed25519(null, keys.getPublic()));
    assertThat(verifying.list("db")).extracting(Manifest::id).containsExactly(m.id());

    Manifest unsigned = backup(new Repository(store));
    assertThat(verifying.list("db")).extracting(Manifest::id).containsExactly(m.id());
    assertThat(verifying.damaged("db")).singleElement().satisfies(d -> {
      assertThat(d.id()).isEqualTo(unsigned.id());
      assertThat(d.reason()).contains("is not signed");
    });
    assertThat(unsigned).isNotNull();
    tamper(m);
    assertThatThrownBy(() -> verifying.manifest("db", m.id())).isInstanceOf(IntegrityException.class);
    assertThat(List.of(m)).hasSize(1);
  }

  @Test
  void attachmentsAndDocumentsCountOnlyWithTheirSignature() throws Exception {
    KeyPair keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Repository signing = new Repository(store).signedWith(ManifestSigner.ed25519(keys.getPrivate(), keys.getPublic()));
    Manifest m = backup(signing);
    signing.writeAttachment(m, "drills/1.json", "{\"passed\":false}".getBytes(StandardCharsets.UTF_8));
    assertThat(signing.attachments(m, "drills/")).containsOnlyKeys("drills/1.json");

    // A report placed by someone without the key, a changed one and one moved to another name count for nothing.
    String base = "db/" + m.id() + "/";
    store.put(base + "drills/2.json", ByteSource.wrap("{\"passed\":true}".getBytes(StandardCharsets.UTF_8)));
    store.put(base + "drills/3.json", ByteSource.wrap("{\"passed\":true}".getBytes(StandardCharsets.UTF_8)));
    try (InputStream sig = store.get(base + "drills/1.json.sig")) {
      store.put(base + "drills/3.json.sig", ByteSource.wrap(sig.readAllBytes()));
    }
    signing.writeAttachment(m, "drills/4.json", "{\"passed\":false}".getBytes(StandardCharsets.UTF_8));
    store.put(base + "drills/4.json", ByteSource.wrap("{\"passed\":true}".getBytes(StandardCharsets.UTF_8)));
    Repository verifying = new Repository(store).signedWith(ManifestSigner.ed25519(null, keys.getPublic()));
    assertThat(verifying.attachments(m, "drills/")).containsOnlyKeys("drills/1.json");
    assertThatThrownBy(() -> verifying.readDocument(base + "drills/3.json")).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("signature check");
    assertThat(new Repository(store).attachments(m, "drills/")).as("an unsigned repository reads them all")
        .containsOnlyKeys("drills/1.json", "drills/2.json", "drills/3.json", "drills/4.json");

    // A verify-only host cannot sign: what it writes is unsigned, and signed readers leave it out.
    verifying.writeAttachment(m, "drills/5.json", "{}".getBytes(StandardCharsets.UTF_8));
    assertThat(store.stat(base + "drills/5.json.sig")).isEmpty();
    assertThat(signing.attachments(m, "drills/")).containsOnlyKeys("drills/1.json");
  }

  @Test
  void aPlantedLeaseHoldsABackupForAWeekAtMost(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    Repository repo = new Repository(new FilesystemStore(dir));
    Manifest older = backup(repo);
    Manifest newer = backup(repo);
    java.nio.file.Path lease = dir.resolve("db/" + older.id() + "/leases/forever.lease");
    java.nio.file.Files.createDirectories(lease.getParent());
    java.nio.file.Files.writeString(lease, "2999-01-01T00:00:00Z\nplanted\n");
    repo.prune("db", Retention.builder().last(1).build(), false, java.time.Duration.ofHours(1));
    assertThat(repo.list("db")).as("a fresh lease holds").hasSize(2);
    java.nio.file.Files.setLastModifiedTime(lease, java.nio.file.attribute.FileTime.from(
        java.time.Instant.now().minus(Repository.MAX_LEASE).minusSeconds(60)));
    repo.prune("db", Retention.builder().last(1).build(), false, java.time.Duration.ofHours(1));
    assertThat(repo.list("db")).extracting(Manifest::id).containsExactly(newer.id());
  }

  /**
   * A signed document replaced while it is read (the streamer's partial WAL record, every flush) pairs one version
   * with the other's signature: it is read again, not refused; a changed document is still refused.
   */
  @Test
  void aDocumentReplacedWhileReadIsReadAgainAndAChangedOneRefused() throws Exception {
    java.util.concurrent.atomic.AtomicReference<byte[]> stale = new java.util.concurrent.atomic.AtomicReference<>();
    Repository repo = new Repository(new ForwardingStore(store) {
      @Override
      public InputStream get(String key, long offset, long length) throws java.io.IOException {
        byte[] old = key.equals("pitr/wal/x.partial.json") ? stale.getAndSet(null) : null;
        return old != null ? new java.io.ByteArrayInputStream(old) : delegate.get(key, offset, length);
      }
    }).signedWith(ManifestSigner.hmacSha256(new byte[32]));
    repo.writeDocument("pitr/wal/x.partial.json", "first".getBytes(StandardCharsets.UTF_8));
    stale.set("first".getBytes(StandardCharsets.UTF_8)); // read before the replacement, its signature after it
    repo.writeDocument("pitr/wal/x.partial.json", "second".getBytes(StandardCharsets.UTF_8));
    assertThat(repo.readDocument("pitr/wal/x.partial.json")).asString(StandardCharsets.UTF_8).isEqualTo("second");
    assertThat(stale.get()).as("the stale version was read").isNull();

    store.put("pitr/wal/x.partial.json", ByteSource.wrap("changed".getBytes(StandardCharsets.UTF_8)));
    assertThatThrownBy(() -> repo.readDocument("pitr/wal/x.partial.json")).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("fails its hmac-sha256 signature check");
  }
}
