package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.BucketTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.ObjectInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Prune, delete and orphan cleanup leave exactly what the remaining backups record — nothing they need goes,
 * nothing only deleted backups held stays — deciding from the manifests' references, and reading object indexes
 * only where a remaining backup still reads from a deleted backup's directory.
 */
class PruneReclaimTest {
  private final InMemoryStore bucket = new InMemoryStore();
  private final AtomicInteger indexReads = new AtomicInteger();
  private final List<String> listed = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Repository repo = new Repository(new ForwardingStore(new InMemoryStore()) {
    @Override
    public InputStream get(String key, long offset, long length) throws IOException {
      if (key.contains("/" + ObjectIndex.SEGMENT_PREFIX)) {
        indexReads.incrementAndGet();
      }
      return delegate.get(key, offset, length);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
      listed.add(prefix);
      return delegate.list(prefix);
    }
  });
  /** What the bucket held when each backup was made, by backup id. */
  private final Map<String, Map<String, String>> contents = new HashMap<>();

  @Test
  void aLongHistoryOfChangesBackupsAndDeletionsLeavesExactlyWhatRemainingBackupsRecord() throws Exception {
    Random random = new Random(20261129);
    for (int i = 0; i < 40; i++) {
      put("objects/" + i + ".bin", "first version of " + i);
    }
    for (int step = 0; step < 60; step++) {
      for (int change = random.nextInt(4); change > 0; change--) {
        String key = "objects/" + random.nextInt(50) + ".bin";
        if (random.nextInt(4) == 0) {
          bucket.delete(key);
        } else {
          put(key, "step " + step + " " + random.nextLong());
        }
      }
      backup(random.nextInt(8) == 0);
      List<Manifest> backups = repo.list("uploads");
      switch (random.nextInt(4)) {
        case 0 -> repo.prune("uploads", Retention.builder().last(1 + random.nextInt(4)).build(), false, Duration.ZERO);
        case 1 -> repo.delete(backups.get(random.nextInt(backups.size())));
        default -> {
          continue;
        }
      }
      assertExactlyWhatRemainingBackupsRecord();
    }
    repo.prune("uploads", Retention.builder().last(1).build(), false, Duration.ZERO);
    assertExactlyWhatRemainingBackupsRecord();
  }

  @Test
  void pruningBackupsNoRemainingBackupReadsFromReadsNoIndex() throws Exception {
    putObjects(20);
    backup(true);
    backup(true);
    Manifest last = backup(true);
    indexReads.set(0);

    repo.prune("uploads", Retention.builder().last(1).build(), false, Duration.ZERO);

    assertThat(indexReads).as("index segments read").hasValue(0);
    assertThat(repo.list("uploads")).extracting(Manifest::id).containsExactly(last.id());
    assertExactlyWhatRemainingBackupsRecord();
  }

  @Test
  void aRemainingBackupThatStillReadsADeletedOnesObjectsKeepsThemAndOnlyThem() throws Exception {
    putObjects(20);
    Manifest full = backup(false);
    put("objects/3.bin", "changed");
    bucket.delete("objects/4.bin");
    Manifest next = backup(false);
    assertThat(next.references()).containsExactly(full.id());

    repo.prune("uploads", Retention.builder().last(1).build(), false, Duration.ZERO);

    Set<String> read = new TreeSet<>();
    ObjectIndex.forEachArtifact(repo, next, a -> {
      if (a.key().startsWith("uploads/" + full.id() + "/")) {
        read.add(a.key());
      }
    });
    assertThat(read).as("unchanged objects and index segments").hasSizeGreaterThan(18);
    assertThat(keys("uploads/" + full.id() + "/")).as("what the newer backup reads of the pruned one").isEqualTo(read)
        .noneMatch(k -> k.contains("objects/3.bin") || k.contains("objects/4.bin"));
    assertThat(repo.orphans("uploads", Duration.ZERO)).as("a directory a backup reads from is no orphan").isEmpty();
    assertExactlyWhatRemainingBackupsRecord();

    for (ObjectInfo o : bucket.list("")) {
      bucket.delete(o.key());
    }
    put("objects/new.bin", "everything else deleted");
    backup(false);
    repo.prune("uploads", Retention.builder().last(1).build(), false, Duration.ZERO);
    assertThat(keys("uploads/" + full.id() + "/")).as("read by no backup any more").isEmpty();
    assertExactlyWhatRemainingBackupsRecord();
  }

  /** Manifests written before they said which directories they read from: shared keys are collected, as before. */
  @Test
  void backupsWithoutReferencesArePrunedByTheSharedKeys() throws Exception {
    putObjects(10);
    List<Manifest> chain = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      put("objects/" + i + ".bin", "changed " + i);
      chain.add(backup(false));
    }
    for (Manifest m : chain) {
      repo.replaceManifest(new Manifest(m.formatVersion(), m.id(), m.plan(), m.tier(), m.labels(), m.startedAt(),
          m.finishedAt(), m.source(), m.artifacts()));
    }
    assertThat(repo.list("uploads")).allMatch(m -> m.references() == null);
    repo.prune("uploads", Retention.builder().last(2).build(), false, Duration.ZERO);
    assertExactlyWhatRemainingBackupsRecord();
    repo.delete(repo.list("uploads").get(1));
    assertExactlyWhatRemainingBackupsRecord();
  }

  /** Finding a plan's backups lists folders, not the objects in them (a bucket backup has the bucket's). */
  @Test
  void listingBackupsListsFoldersNotObjects() throws Exception {
    putObjects(10);
    Manifest first = backup(false);
    Manifest second = backup(false);
    listed.clear();
    assertThat(repo.list("uploads")).extracting(Manifest::id).containsExactly(first.id(), second.id());
    assertThat(repo.newest("uploads")).map(Manifest::id).hasValue(second.id());
    assertThat(repo.plans()).containsExactly("uploads");
    assertThat(repo.orphans("uploads", Duration.ZERO)).isEmpty();
    assertThat(listed).as("object listings").allMatch(prefix -> prefix.endsWith("/leases/"));
  }

  /** A backup that never finished, unreferenced: its whole directory goes; a referenced directory stays. */
  @Test
  void orphansGoWholeUnlessABackupReadsFromThem() throws Exception {
    put("objects/a.bin", "alpha");
    backup(false);
    String orphan = "20200101T000000.000Z-dead";
    for (int i = 0; i < 3; i++) {
      repo.store().put("uploads/" + orphan + "/objects/" + i, ByteSource.wrap(new byte[] {1}));
    }
    assertThat(repo.orphans("uploads", Duration.ZERO)).containsExactly(orphan);
    assertThat(repo.deleteOrphans("uploads", Duration.ZERO)).isOne();
    assertThat(keys("uploads/" + orphan + "/")).isEmpty();
    assertExactlyWhatRemainingBackupsRecord();
  }

  private Manifest backup(boolean full) throws IOException {
    BucketSource source = BucketSource.of(bucket).segmentObjects(4);
    Manifest m = BackupPlan.builder("uploads").source(full ? source.fullCopies() : source)
        .transform(Transforms.zstd()).repository(repo).build().run().manifest();
    Map<String, String> now = new TreeMap<>();
    for (ObjectInfo o : bucket.list("")) {
      try (InputStream in = bucket.get(o.key())) {
        now.put(o.key(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    contents.put(m.id(), now);
    return m;
  }

  /** The repository holds each remaining backup's manifest and artifacts and nothing else; each restores whole. */
  private void assertExactlyWhatRemainingBackupsRecord() throws IOException {
    Set<String> recorded = new TreeSet<>();
    for (Manifest m : repo.list("uploads")) {
      recorded.add(Repository.manifestKey(m.plan(), m.id()));
      recorded.add(Repository.completeKey(m.plan(), m.id()));
      ObjectIndex.forEachArtifact(repo, m, a -> recorded.add(a.key()));
      InMemoryStore restored = new InMemoryStore();
      repo.restore(m, new BucketTarget(restored), Secrets.none());
      Map<String, String> got = new TreeMap<>();
      for (ObjectInfo o : restored.list("")) {
        try (InputStream in = restored.get(o.key())) {
          got.put(o.key(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      assertThat(got).as("restore of " + m.id()).isEqualTo(contents.get(m.id()));
    }
    assertThat(keys("uploads/")).isEqualTo(recorded);
  }

  private Set<String> keys(String prefix) throws IOException {
    Set<String> keys = new TreeSet<>();
    repo.store().list(prefix).forEach(o -> keys.add(o.key()));
    return keys;
  }

  /** Objects {@code objects/0.bin} … of the given number. */
  private void putObjects(int count) throws IOException {
    for (int i = 0; i < count; i++) {
      put("objects/" + i + ".bin", "object " + i);
    }
  }

  private void put(String key, String content) throws IOException {
    bucket.put(key, ByteSource.wrap(content.getBytes(StandardCharsets.UTF_8)));
  }
}
