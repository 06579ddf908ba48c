package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.ObjectInfo;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Listing a filesystem repository while backups write and remove objects (leases come and go) never fails. */
class FilesystemStoreConcurrencyTest {
  @TempDir
  Path tmp;

  @Test
  void listingWhileDirectoriesComeAndGo() throws Exception {
    FilesystemStore store = new FilesystemStore(tmp.resolve("repo"));
    store.put("plan/kept/manifest.json", ByteSource.wrap(new byte[] {1}));
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicReference<Throwable> writerFailure = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      try {
        for (int i = 0; running.get(); i++) {
          String key = "plan/b" + (i % 7) + "/leases/running.lease";
          store.put(key, ByteSource.wrap(new byte[] {2}));
          store.delete(key); // removes the emptied leases/ and b<n>/ directories too
        }
      } catch (Throwable t) {
        writerFailure.set(t);
      }
    });
    writer.start();
    try {
      for (int i = 0; i < 2000; i++) {
        assertThat(store.list("plan/")).extracting(ObjectInfo::key).contains("plan/kept/manifest.json");
      }
    } finally {
      running.set(false);
      writer.join(10_000);
    }
    assertThat(writerFailure.get()).isNull();
  }

  @Test
  void listingBackupsWhileRetentionDeletesThem() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("backups")));
    BackupPlan plan = BackupPlan.builder("p").source(StreamSource.of("a", ByteSource.wrap(new byte[100])))
        .repository(repo).build();
    for (int i = 0; i < 3; i++) {
      plan.run();
    }
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread churn = new Thread(() -> {
      try {
        while (running.get()) {
          plan.run();
          repo.prune("p", Retention.builder().last(2).build(), false, java.time.Duration.ofHours(1));
        }
      } catch (Throwable t) {
        failure.set(t);
      }
    });
    churn.start();
    try {
      for (int i = 0; i < 300; i++) {
        assertThat(repo.list("p")).isNotEmpty();
        assertThat(repo.damaged("p")).as("a pruned backup is gone, not damaged").isEmpty();
      }
    } finally {
      running.set(false);
      churn.join(30_000);
    }
    assertThat(failure.get()).isNull();
  }
}
