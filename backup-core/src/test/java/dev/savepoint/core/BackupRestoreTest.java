package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.RetryPolicy;
import dev.savepoint.core.store.RetryingStore;
import dev.savepoint.core.store.Store;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackupRestoreTest {
  @TempDir
  Path tmp;

  final InMemoryStore store = new InMemoryStore();
  final Repository repo = new Repository(store);

  static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  BackupPlan.Builder plan(Source source) {
    return BackupPlan.builder("app").tier("tier1").source(source).repository(repo);
  }

  @Test
  void streamBackupRecordsDigestsAndRestoresByteForByte() throws IOException {
    byte[] data = random(2_000_000, 1);
    Manifest m = plan(StreamSource.of("dump.sql", ByteSource.wrap(data))).transform(Transforms.gzip(6))
        .verifier(Verifiers.presence(1)).build().run().manifest();

    assertThat(m.artifacts()).singleElement().satisfies(a -> {
      assertThat(a.key()).isEqualTo("app/" + m.id() + "/dump.sql.gz");
      assertThat(a.rawBytes()).isEqualTo(data.length);
      assertThat(a.rawSha256()).hasSize(64);
      assertThat(a.transforms()).extracting(TransformSpec::name).containsExactly("gzip");
    });
    // The stored object is plain gzip: gunzip restores it without Savepoint.
    try (InputStream in = new GZIPInputStream(store.get(m.artifacts().get(0).key()))) {
      assertThat(in.readAllBytes()).isEqualTo(data);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    repo.restore(repo.select("app", BackupSelector.latest()), StreamTarget.stream(out), Secrets.none());
    assertThat(out.toByteArray()).isEqualTo(data);
  }

  @Test
  void severalArtifactsWrittenInParallelBySource() throws IOException {
    Source parallel = new Source() {
      @Override
      public String type() {
        return "parallel";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.ConcurrentLinkedQueue<IOException> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int i = 0; i < 4; i++) {
          int n = i;
          Thread t = new Thread(() -> {
            try (OutputStream out = writer.open("part-" + n)) {
              out.write(random(500_000 + n, n));
            } catch (IOException e) {
              errors.add(e);
            }
          });
          t.start();
          threads.add(t);
        }
        for (Thread t : threads) {
          try {
            t.join();
          } catch (InterruptedException e) {
            throw new IOException(e);
          }
        }
        if (!errors.isEmpty()) {
          throw errors.peek();
        }
        return Map.of("parts", 4);
      }
    };
    Manifest m = plan(parallel).transform(Transforms.zstd()).build().run().manifest();
    assertThat(m.artifacts()).hasSize(4);
    assertThat(m.source().facts()).containsEntry("parts", 4);
    for (int i = 0; i < 4; i++) {
      try (InputStream in = repo.openRaw(m.artifact("part-" + i).orElseThrow(), Secrets.none())) {
        assertThat(in.readAllBytes()).isEqualTo(random(500_000 + i, i));
      }
    }
  }

  @Test
  void failingSourceLeavesNoManifestAndNoArtifacts() {
    Source broken = new Source() {
      @Override
      public String type() {
        return "broken";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        OutputStream out = writer.open("a");
        out.write(random(3_000_000, 2));
        throw new SourceException("dump tool exited with status 1: connection lost");
      }
    };
    assertThatThrownBy(() -> plan(broken).transform(Transforms.gzip()).build().run())
        .isInstanceOf(SourceException.class).hasMessageContaining("connection lost");
    assertThat(store.list("")).isEmpty();
  }

  @Test
  void storeFailureMidUploadFailsTheBackupWithTheStoreError() throws IOException {
    Store failing = new ForwardingStore(store) {
      @Override
      public void put(String key, InputStream content) throws IOException {
        content.readNBytes(100_000);
        throw new StoreException("bucket 'x' does not exist");
      }
    };
    Repository r = new Repository(failing);
    assertThatThrownBy(() -> BackupPlan.builder("app").source(StreamSource.of("d", ByteSource.wrap(random(5_000_000, 3))))
        .repository(r).build().run()).isInstanceOf(StoreException.class).hasMessageContaining("bucket 'x'");
    assertThat(r.list("app")).isEmpty();
  }

  @Test
  void failedVerificationWritesNoManifest() throws IOException {
    assertThatThrownBy(() -> plan(StreamSource.of("tiny", ByteSource.wrap(new byte[10])))
        .verifier(Verifiers.presence(1024 * 1024)).build().run())
        .isInstanceOf(IntegrityException.class).hasMessageContaining("less than the required minimum");
    assertThat(repo.list("app")).isEmpty();
  }

  /** Issue 40.9: a verifier that throws leaves nothing stored, like one that says no. */
  @Test
  void aVerifierThatThrowsLeavesNothingStored() throws IOException {
    assertThatThrownBy(() -> plan(StreamSource.of("dump.sql", ByteSource.wrap(new byte[100_000])))
        .verifier((repository, manifest) -> {
          throw new IllegalStateException("the checking database is down");
        }).build().run()).hasMessageContaining("the checking database is down");
    assertThat(repo.list("app")).isEmpty();
    assertThat(repo.store().list("app/")).as("no artifact left behind").isEmpty();
  }

  @Test
  void idsSortByTimeAndSelectorsPick() throws Exception {
    Manifest first = plan(StreamSource.of("a", ByteSource.wrap(new byte[] {1}))).build().run().manifest();
    Thread.sleep(5);
    Instant between = Instant.now();
    Thread.sleep(5);
    Manifest second = plan(StreamSource.of("a", ByteSource.wrap(new byte[] {2}))).build().run().manifest();
    assertThat(repo.list("app")).extracting(Manifest::id).containsExactly(first.id(), second.id());
    assertThat(repo.select("app", BackupSelector.latest()).id()).isEqualTo(second.id());
    assertThat(repo.select("app", BackupSelector.atOrBefore(between)).id()).isEqualTo(first.id());
    assertThat(repo.select("app", BackupSelector.id(first.id())).id()).isEqualTo(first.id());
    assertThatThrownBy(() -> repo.select("app", BackupSelector.atOrBefore(Instant.EPOCH)))
        .isInstanceOf(BackupNotFoundException.class);
    assertThat(repo.plans()).containsExactly("app");
  }

  @Test
  void backupWithoutManifestIsInvisibleAndCleanedUp() throws IOException {
    store.put("app/20200101T000000.000Z-abcd/dump.sql.gz", ByteSource.wrap(new byte[] {1, 2}));
    Manifest good = plan(StreamSource.of("a", ByteSource.wrap(new byte[] {1}))).build().run().manifest();
    assertThat(repo.list("app")).extracting(Manifest::id).containsExactly(good.id());
    assertThat(repo.orphans("app", Duration.ofHours(1))).containsExactly("20200101T000000.000Z-abcd");
    assertThat(repo.deleteOrphans("app", Duration.ofHours(1))).isEqualTo(1);
    assertThat(store.list("app/2020")).isEmpty();
    assertThat(repo.list("app")).hasSize(1);
  }

  @Test
  void flippedByteIsCaughtByStoredDigestNamingTheArtifact() throws IOException {
    Manifest m = plan(StreamSource.of("dump.sql", ByteSource.wrap(random(100_000, 4)))).transform(Transforms.zstd())
        .build().run().manifest();
    ArtifactRecord a = m.artifacts().get(0);
    byte[] stored;
    try (InputStream in = store.get(a.key())) {
      stored = in.readAllBytes();
    }
    stored[stored.length / 2] ^= 0x01;
    store.put(a.key(), ByteSource.wrap(stored));

    VerificationResult result = Verifiers.storedDigest().verify(repo, m);
    assertThat(result.passed()).isFalse();
    assertThat(result.detail()).contains("dump.sql", "expected " + a.storedSha256(), "actual");
    assertThatThrownBy(() -> repo.restore(m, StreamTarget.file(tmp.resolve("out")), Secrets.none()))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("dump.sql");
    assertThat(tmp.resolve("out")).doesNotExist();
  }

  @Test
  void truncationIsCaughtByPresenceAndRoundTrip() throws IOException {
    Manifest m = plan(StreamSource.of("dump.sql", ByteSource.wrap(random(100_000, 5)))).transform(Transforms.gzip())
        .build().run().manifest();
    ArtifactRecord a = m.artifacts().get(0);
    byte[] stored;
    try (InputStream in = store.get(a.key())) {
      stored = in.readAllBytes();
    }
    store.put(a.key(), ByteSource.wrap(java.util.Arrays.copyOf(stored, stored.length - 10)));
    assertThat(Verifiers.presence(0).verify(repo, m).detail()).contains("size mismatch", "dump.sql");
    VerificationResult rt = Verifiers.roundTrip(Secrets.none()).verify(repo, m);
    assertThat(rt.passed()).isFalse();
    assertThat(rt.detail()).contains("dump.sql");
  }

  @Test
  void malformedAndFutureManifestsGiveClearErrors() throws IOException {
    Manifest m = plan(StreamSource.of("a", ByteSource.wrap(new byte[] {1}))).build().run().manifest();
    String key = "app/" + m.id() + "/manifest.json";
    Manifest older = m;
    m = plan(StreamSource.of("a", ByteSource.wrap(new byte[] {2}))).build().run().manifest();
    key = "app/" + m.id() + "/manifest.json";
    store.put(key, ByteSource.wrap("{not json".getBytes(StandardCharsets.UTF_8)));
    String damagedKey = key;
    assertThat(repo.list("app")).as("the damaged newest backup does not hide the older one").containsExactly(older);
    assertThat(repo.select("app", BackupSelector.latest())).isEqualTo(older);
    assertThat(repo.damaged("app")).singleElement().satisfies(d ->
        assertThat(d.reason()).contains("malformed manifest " + damagedKey));
    String id = m.id();
    assertThatThrownBy(() -> repo.manifest("app", id)).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("malformed manifest " + key);
    store.put(key, ByteSource.wrap("{\"formatVersion\": 99}".getBytes(StandardCharsets.UTF_8)));
    assertThat(repo.damaged("app")).singleElement().satisfies(d ->
        assertThat(d.reason()).contains("format version 99", "upgrade Savepoint"));
    repo.quarantine("app", id);
    assertThat(repo.damaged("app")).isEmpty();
    assertThat(store.list(Repository.QUARANTINE + "app/" + id + "/")).isNotEmpty();
    assertThat(repo.list("app")).containsExactly(older);
  }

  @Test
  void directoryRoundTripKeepsContentPermissionsTimesAndLinks() throws IOException {
    Path src = tmp.resolve("uploads");
    Files.createDirectories(src.resolve("a/b"));
    Files.write(src.resolve("a/b/portrait.png"), random(300_000, 6));
    Files.writeString(src.resolve("notes 日本語.txt"), "dragons \uD83D\uDC09");
    Files.createDirectories(src.resolve("empty"));
    Path script = Files.writeString(src.resolve("run.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
    Files.setLastModifiedTime(script, FileTime.from(Instant.parse("2024-05-01T10:00:00Z")));
    Files.createSymbolicLink(src.resolve("link"), Path.of("a/b/portrait.png"));
    Files.write(src.resolve("a/" + "x".repeat(150)), new byte[] {7});

    Manifest m = plan(new DirectorySource(src)).transform(Transforms.gzip()).build().run().manifest();
    assertThat(m.source().facts()).containsEntry("files", 4L).containsEntry("symlinks", 1L);

    Path dest = tmp.resolve("restored");
    repo.restore(m, DirectoryTarget.of(dest), Secrets.none());
    assertThat(dest.resolve("a/b/portrait.png")).hasBinaryContent(random(300_000, 6));
    assertThat(Files.readString(dest.resolve("notes 日本語.txt"))).isEqualTo("dragons \uD83D\uDC09");
    assertThat(dest.resolve("empty")).isEmptyDirectory();
    assertThat(Files.getPosixFilePermissions(dest.resolve("run.sh")))
        .isEqualTo(PosixFilePermissions.fromString("rwxr-x---"));
    assertThat(Files.getLastModifiedTime(dest.resolve("run.sh")).toInstant())
        .isEqualTo(Instant.parse("2024-05-01T10:00:00Z"));
    assertThat(Files.readSymbolicLink(dest.resolve("link"))).isEqualTo(Path.of("a/b/portrait.png"));
    assertThat(dest.resolve("a/" + "x".repeat(150))).hasBinaryContent(new byte[] {7});

    assertThatThrownBy(() -> repo.restore(m, DirectoryTarget.of(dest), Secrets.none()))
        .isInstanceOf(RestoreException.class).hasMessageContaining("not an empty directory");
  }

  @Test
  void corruptDirectoryBackupLeavesExistingTargetUntouched() throws IOException {
    Path src = tmp.resolve("src");
    Files.createDirectories(src);
    Files.write(src.resolve("f"), random(200_000, 7));
    Manifest m = plan(new DirectorySource(src)).build().run().manifest();
    ArtifactRecord a = m.artifacts().get(0);
    byte[] stored;
    try (InputStream in = store.get(a.key())) {
      stored = in.readAllBytes();
    }
    stored[100_000] ^= 0x40;
    store.put(a.key(), ByteSource.wrap(stored));

    Path dest = tmp.resolve("live");
    Files.createDirectories(dest);
    Files.writeString(dest.resolve("current.txt"), "still here");
    assertThatThrownBy(() -> repo.restore(m, DirectoryTarget.of(dest).replacingExisting(), Secrets.none()))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("SHA-256 mismatch");
    assertThat(dest.resolve("current.txt")).hasContent("still here");
    try (var siblings = Files.list(tmp)) {
      assertThat(siblings.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("src", "live");
    }
  }

  @Test
  void tarEntriesEscapingTheTargetAreRefused() throws IOException {
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    try (var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(tar)) {
      var entry = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("../../evil.sh");
      entry.setSize(3);
      out.putArchiveEntry(entry);
      out.write(new byte[] {1, 2, 3});
      out.closeArchiveEntry();
    }
    Source evil = new Source() {
      @Override
      public String type() {
        return "directory";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        try (OutputStream out = writer.open(DirectorySource.ARTIFACT)) {
          out.write(tar.toByteArray());
        }
        return Map.of();
      }
    };
    Manifest m = plan(evil).build().run().manifest();
    Path dest = tmp.resolve("d/e/target");
    assertThatThrownBy(() -> repo.restore(m, DirectoryTarget.of(dest), Secrets.none()))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("outside");
    assertThat(tmp.resolve("d/evil.sh")).doesNotExist();
    assertThat(dest).doesNotExist();
  }

  @Test
  void retryingStoreRetriesReplayableWritesOnly() throws IOException {
    int[] attempts = new int[1];
    Store flaky = new ForwardingStore(store) {
      @Override
      public void put(String key, InputStream content) throws IOException {
        if (++attempts[0] < 3) {
          content.readNBytes(10);
          throw new TransientStoreException("503 SlowDown");
        }
        super.put(key, content);
      }
    };
    Store retrying = new RetryingStore(flaky, new RetryPolicy(5, Duration.ZERO, Duration.ZERO));
    retrying.put("m", ByteSource.wrap("manifest".getBytes(StandardCharsets.UTF_8)));
    assertThat(attempts[0]).isEqualTo(3);
    try (InputStream in = store.get("m")) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("manifest");
    }
    attempts[0] = 0;
    assertThatThrownBy(() -> retrying.put("s", new ByteArrayInputStream(new byte[100])))
        .isInstanceOf(TransientStoreException.class);
    assertThat(attempts[0]).isEqualTo(1);
    assertThat(store.stat("s")).isEmpty();
  }
}
