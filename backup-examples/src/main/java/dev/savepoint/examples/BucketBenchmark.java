package dev.savepoint.examples;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.Store;
import dev.savepoint.s3.S3Store;
import dev.savepoint.testkit.TestS3Server;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Bucket backups of many small objects (0.5–64 KB, text-like, most of them small): a full backup, a backup with no
 * change, one with 1 % of the objects changed and a restore to a directory, into a file repository, then (with
 * {@code s3}) a full backup into the in-process S3 server. Prints seconds, objects per second, the manifest's size
 * and the peak heap of each step. Not a test: {@code bash scripts/benchmark.sh bucket [objects] [s3]}.
 */
public final class BucketBenchmark {
  public static void main(String[] args) throws Exception {
    int objects = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    boolean s3 = args.length > 1 && args[1].equals("s3");
    parallelism = args.length > 2 ? Integer.parseInt(args[2]) : 8;
    Path work = Files.createDirectories(Path.of("savepoint-demo", "bucket-bench").toAbsolutePath());
    Path bucketDir = work.resolve("bucket-" + objects);
    long bytes = generate(bucketDir, objects);
    Store bucket = new FilesystemStore(bucketDir);
    Path repoDir = work.resolve("repo");
    deleteTree(repoDir);
    // The generated bucket and the deleted repository are written back now, not during the first timed step.
    new ProcessBuilder("sync").inheritIO().start().waitFor();
    Repository repo = new Repository(new FilesystemStore(repoDir));
    System.out.printf("%d objects, %.1f MB; JVM max heap %d MB; %d objects in flight%n", objects, bytes / 1e6,
        Runtime.getRuntime().maxMemory() >> 20, parallelism);
    System.out.printf("%-40s %9s %10s %14s %10s %10s%n", "step", "seconds", "objects/s", "manifest bytes", "peak heap",
        "after GC");
    System.out.println("peak heap: the pools' peaks (what the collector let pile up); after GC: the most in use right "
        + "after a collection (live data, plus old garbage not yet collected)");
    Manifest full = step("full backup, file repository", objects, repo, () -> backup(bucket, repo));
    step("no change, file repository", objects, repo, () -> backup(bucket, repo));
    Random random = new Random(2);
    for (int i = 0; i < objects / 100; i++) {
      int n = random.nextInt(objects);
      Files.writeString(bucketDir.resolve(name(n)), "changed " + i + " " + random.nextLong());
    }
    Manifest changed = step("1 % changed, file repository", objects, repo, () -> backup(bucket, repo));
    Path restored = work.resolve("restored");
    deleteTree(restored);
    step("restore to a directory", objects, repo, () -> {
      repo.restore(changed, new FilesTarget(restored, BucketSource.ARTIFACT_PREFIX), Secrets.none());
      return changed;
    });
    deleteTree(restored);
    step("list the plan's backups", objects, repo, () -> repo.list("uploads").get(0));
    // Keeps the newest: the full and no-change backups go, their objects the newest still reads stay.
    step("prune to the newest backup", objects, repo, () -> {
      repo.prune("uploads", Retention.builder().last(1).build(), false, java.time.Duration.ofDays(1));
      return repo.list("uploads").get(0);
    });
    if (s3) {
      TestS3Server server = TestS3Server.shared();
      S3Client client = S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey());
      Repository s3Repo = new Repository(S3Store.builder(client, server.createBucket("bucket-bench")).build());
      step("full backup, local S3 server", objects, s3Repo, () -> backup(bucket, s3Repo));
    }
    System.out.println("full backup stored " + full.storedBytes() + " bytes in " + full.artifacts().size()
        + " index segments plus the objects");
    System.exit(0); // the in-process S3 server's threads would keep the JVM alive
  }

  /** Objects copied at once (the bucket source's parallelism). */
  private static int parallelism;

  /**
   * The most heap in use right after a collection during the current step: what the step keeps alive (plus garbage
   * not yet collected in the old generation), not what the collector let pile up between collections.
   */
  private static final java.util.concurrent.atomic.AtomicLong liveAfterGc = new java.util.concurrent.atomic.AtomicLong();

  static {
    for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((javax.management.NotificationEmitter) gc).addNotificationListener((notification, handback) -> {
        if (notification.getType().equals(
            com.sun.management.GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
          long used = com.sun.management.GarbageCollectionNotificationInfo.from(
                  (javax.management.openmbean.CompositeData) notification.getUserData())
              .getGcInfo().getMemoryUsageAfterGc().entrySet().stream()
              .filter(e -> !e.getKey().contains("Metaspace") && !e.getKey().contains("Code")
                  && !e.getKey().contains("Class"))
              .mapToLong(e -> e.getValue().getUsed()).sum();
          liveAfterGc.accumulateAndGet(used, Math::max);
        }
      }, null, null);
    }
  }

  interface Step {
    Manifest run() throws Exception;
  }

  private static Manifest step(String what, int objects, Repository repo, Step step) throws Exception {
    System.gc();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
    liveAfterGc.set(0);
    long start = System.nanoTime();
    Manifest m = step.run();
    double seconds = (System.nanoTime() - start) / 1e9;
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    long manifestBytes = repo.store().stat(m.plan() + "/" + m.id() + "/" + Repository.MANIFEST).orElseThrow().size();
    System.out.printf("%-40s %9.2f %10.0f %14d %9.1fM %9.1fM%n", what, seconds, objects / seconds, manifestBytes,
        peak / 1048576.0, liveAfterGc.get() / 1048576.0);
    return m;
  }

  private static Manifest backup(Store bucket, Repository repo) throws Exception {
    return BackupPlan.builder("uploads").source(BucketSource.of(bucket).parallelism(parallelism)).transform(Transforms.zstd(3, 0))
        .repository(repo).build().run().manifest();
  }

  private static String name(int i) {
    return String.format("users/%03d/%07d.txt", i % 1000, i);
  }

  /** Writes the objects afresh; returns their total size. */
  private static long generate(Path dir, int objects) throws Exception {
    deleteTree(dir);
    Random random = new Random(1);
    String[] words = "the a dragon tavern quest sword roll dice goblin party map spell heal gold night door trap"
        .split(" ");
    long total = 0;
    for (int i = 0; i < objects; i++) {
      // Most uploads are small: sizes from 0.5 KB to 64 KB, skewed towards the small end.
      double u = random.nextDouble();
      int size = (int) (512 + u * u * u * (64 * 1024 - 512));
      StringBuilder text = new StringBuilder(size);
      while (text.length() < size) {
        text.append(words[random.nextInt(words.length)]).append(random.nextInt(1000)).append(' ');
      }
      Path file = dir.resolve(name(i));
      Files.createDirectories(file.getParent());
      Files.writeString(file, text.substring(0, size));
      total += size;
    }
    return total;
  }

  /** Deletes a tree of a million files without holding their paths (this benchmark runs in a small heap too). */
  private static void deleteTree(Path dir) throws Exception {
    if (!Files.exists(dir)) {
      return;
    }
    Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
      @Override
      public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes a)
          throws java.io.IOException {
        Files.delete(file);
        return java.nio.file.FileVisitResult.CONTINUE;
      }

      @Override
      public java.nio.file.FileVisitResult postVisitDirectory(Path d, java.io.IOException e) throws java.io.IOException {
        if (e != null) {
          throw e;
        }
        Files.delete(d);
        return java.nio.file.FileVisitResult.CONTINUE;
      }
    });
  }
}
