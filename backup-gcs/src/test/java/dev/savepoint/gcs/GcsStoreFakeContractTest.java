package dev.savepoint.gcs;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageClass;
import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.Store;
import dev.savepoint.core.store.Stores;
import dev.savepoint.testkit.StoreContract;
import java.io.ByteArrayInputStream;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The store contract against Google's own in-memory GCS fake ({@code LocalStorageHelper}), because no real GCS
 * server runs here. The fake lacks sizes, sorting and precondition codes; the store copes with those gaps.
 */
class GcsStoreFakeContractTest extends StoreContract {
  /** Google's in-memory fake checks doesNotExist when the writer opens, not atomically; real GCS decides it server-side. */
  @Override
  protected boolean atomicConditionalWrites() {
    return false;
  }

  Storage storage;

  @Override
  protected Store newStore() {
    storage = LocalStorageHelper.getOptions().getService();
    // The fake lists in no particular order (GCS sorts by name): collected and sorted.
    return GcsStore.builder(storage, "backups").prefix("repo").chunkSize(256 * 1024).sortedListing(false).build();
  }

  @Test
  void multiChunkUploadRoundTrips() throws Exception {
    byte[] data = randomBytes(3 * 1024 * 1024 + 7, 21);
    store.put("big", new ByteArrayInputStream(data));
    assertThat(read("big")).isEqualTo(data);
  }

  @Test
  void archiveClassForArtifactsStandardForManifests() throws Exception {
    Store archive = GcsStore.builder(storage, "archive").storageClass(StorageClass.ARCHIVE).build();
    Manifest m = BackupPlan.builder("monthly").source(StreamSource.of("db.sql", ByteSource.wrap(new byte[1000])))
        .repository(new Repository(archive)).build().run().manifest();
    assertThat(storage.get(BlobId.of("archive", m.artifacts().get(0).key())).getStorageClass())
        .isEqualTo(StorageClass.ARCHIVE);
    assertThat(storage.get(BlobId.of("archive", "monthly/" + m.id() + "/manifest.json")).getStorageClass())
        .isNotEqualTo(StorageClass.ARCHIVE);
  }

  @Test
  void copyToAnArchiveBucketIsARewriteInsideTheService() throws Exception {
    Store primary = GcsStore.builder(storage, "primary").prefix("trpg").build();
    AtomicInteger archivePuts = new AtomicInteger();
    Store archive = new ForwardingStore(GcsStore.builder(storage, "archive-7y").storageClass(StorageClass.ARCHIVE).build()) {
      @Override
      public void put(String key, java.io.InputStream content) throws java.io.IOException {
        archivePuts.incrementAndGet();
        super.put(key, content);
      }
    };
    byte[] dump = randomBytes(600_000, 5);
    Repository archiveRepo = new Repository(Stores.standard(archive));
    Manifest m = BackupPlan.builder("monthly").source(StreamSource.of("db.sql", ByteSource.wrap(dump)))
        .repository(new Repository(Stores.standard(primary))).copyTo(archiveRepo).build().run().manifest();
    assertThat(archivePuts.get()).as("only the manifest and its completion marker are uploaded; the artifact is "
        + "rewritten").isEqualTo(2);
    assertThat(storage.get(BlobId.of("archive-7y", m.artifacts().get(0).key())).getStorageClass())
        .isEqualTo(StorageClass.ARCHIVE);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    archiveRepo.restore(archiveRepo.list("monthly").get(0), dev.savepoint.core.sources.StreamTarget.stream(out),
        dev.savepoint.core.Secrets.none());
    assertThat(out.toByteArray()).isEqualTo(dump);
  }

  @Test
  void holdsAndRetentionProtectArtifactsAndManifestsButNotWorkingFiles() throws Exception {
    Store worm = GcsStore.builder(storage, "worm").temporaryHold(true).retention(java.time.Duration.ofDays(2557), false)
        .build();
    Repository repo = new Repository(worm);
    Manifest m = BackupPlan.builder("monthly").source(StreamSource.of("db.sql", ByteSource.wrap(new byte[1000])))
        .repository(repo).build().run().manifest();
    var artifact = storage.get(BlobId.of("worm", m.artifacts().get(0).key()));
    assertThat(artifact.getTemporaryHold()).isTrue();
    assertThat(artifact.getRetention().getMode()).isEqualTo(com.google.cloud.storage.BlobInfo.Retention.Mode.UNLOCKED);
    assertThat(artifact.getRetention().getRetainUntilTime())
        .isAfter(java.time.OffsetDateTime.now().plusDays(2556));
    assertThat(storage.get(BlobId.of("worm", "monthly/" + m.id() + "/manifest.json")).getTemporaryHold()).isTrue();
    repo.lease(m, "drill", java.time.Duration.ofHours(1));
    assertThat(worm.list("monthly/" + m.id() + "/leases/")).singleElement().satisfies(lease ->
        assertThat(storage.get(BlobId.of("worm", lease.key())).getTemporaryHold()).isNotEqualTo(Boolean.TRUE));
  }
}
