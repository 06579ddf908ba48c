package dev.savepoint.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.ObjectArchivedException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.SavepointException;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ArchiveRestore;
import dev.savepoint.core.store.ArchiveSupport;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.Stores;
import dev.savepoint.testkit.TestS3Server;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.model.StorageClass;

/** Archive (Glacier-class) restore planning, against a client double of the archive tier over a real server. */
class S3ArchiveRestoreTest {
  static final TestS3Server server = TestS3Server.shared();

  @Test
  void primaryBackupCopiedToDeepArchiveIsRestoredOnRequest() throws Exception {
    String bucket = server.createBucket("archive");
    S3ArchiveClientDouble client = new S3ArchiveClientDouble(
        S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey()), 3);
    Repository archive = new Repository(Stores.standard(S3Store.builder(client, bucket).prefix("archive")
        .storageClass(StorageClass.DEEP_ARCHIVE).build()));
    Repository primary = new Repository(new InMemoryStore());
    byte[] data = new byte[100_000];
    new Random(1).nextBytes(data);
    Manifest m = BackupPlan.builder("monthly").source(StreamSource.of("db.sql", ByteSource.wrap(data)))
        .repository(primary).copyTo(archive).build().run().manifest();

    // Manifests stay STANDARD: the archive lists without any restore; only the artifact is archived.
    assertThat(archive.list("monthly")).extracting(Manifest::id).containsExactly(m.id());
    List<ArchiveRestore.Item> items = ArchiveRestore.inspect(archive, m);
    assertThat(items).singleElement().satisfies(i -> {
      assertThat(i.status()).isEqualTo(ArchiveSupport.Status.ARCHIVED);
      assertThat(i.storageClass()).isEqualTo("DEEP_ARCHIVE");
    });
    assertThat(ArchiveRestore.plan(items, ArchiveSupport.Tier.STANDARD))
        .containsExactly("db.sql: request STANDARD restore from DEEP_ARCHIVE, typically within 12 hours");

    assertThatThrownBy(() -> archive.restore(m, StreamTarget.stream(new ByteArrayOutputStream()), Secrets.none()))
        .isInstanceOf(ObjectArchivedException.class).hasMessageContaining("request a restore first");

    assertThatThrownBy(() -> ArchiveRestore.requestAndWait(archive, m, ArchiveSupport.Tier.BULK, 7, Duration.ZERO,
        Duration.ofMillis(1), s -> { })).isInstanceOf(SavepointException.class).hasMessageContaining("still in progress");

    List<String> progress = new ArrayList<>();
    ArchiveRestore.requestAndWait(archive, m, ArchiveSupport.Tier.BULK, 7, Duration.ofSeconds(10),
        Duration.ofMillis(10), progress::add);
    assertThat(client.restoreTiers).containsValue("Bulk").hasSize(1);
    assertThat(progress.get(progress.size() - 1)).startsWith("all 1 artifacts readable");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    archive.restore(m, StreamTarget.stream(out), Secrets.none());
    assertThat(out.toByteArray()).isEqualTo(data);
  }
}
