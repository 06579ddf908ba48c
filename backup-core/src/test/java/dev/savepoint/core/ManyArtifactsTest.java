package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.BucketTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A finished artifact leaves only its record behind: a bucket of 20,000 small objects backs up and restores in a
 * child JVM with a 128 MiB heap (each finished artifact used to keep ~170 KB of pipes and transform state).
 */
class ManyArtifactsTest {
  @TempDir
  Path tmp;

  /** Run in the child JVM: back up {@code args[1]} objects into {@code args[0]}, restore them, print a summary. */
  public static void main(String[] args) throws Exception {
    int objects = Integer.parseInt(args[1]);
    InMemoryStore bucket = new InMemoryStore();
    byte[] body = new byte[512];
    for (int i = 0; i < objects; i++) {
      body[0] = (byte) i;
      body[1] = (byte) (i >> 8);
      bucket.put(String.format("uploads/%05d.png", i), ByteSource.wrap(body));
    }
    Repository repo = new Repository(new FilesystemStore(Path.of(args[0])));
    Manifest m = BackupPlan.builder("uploads").source(BucketSource.of(bucket).parallelism(8))
        .transform(Transforms.zstd()).repository(repo).build().run().manifest();
    InMemoryStore restored = new InMemoryStore();
    repo.restore(m, new BucketTarget(restored), Secrets.none());
    System.gc();
    long used = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
    long manifestBytes = repo.store().stat(m.plan() + "/" + m.id() + "/" + Repository.MANIFEST).orElseThrow().size();
    System.out.println("objects=" + m.source().facts().get("objectCount") + " restored=" + restored.list("").size()
        + " manifestBytes=" + manifestBytes + " heapUsedMiB=" + (used >> 20));
  }

  @Test
  void twentyThousandObjectsBackUpAndRestoreIn128MiB() throws Exception {
    Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-cp", System.getProperty("java.class.path"), ManyArtifactsTest.class.getName(),
        tmp.resolve("repo").toString(), "20000")).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("objects=20000 restored=20000");
    // The objects are in the index: the manifest holds a few segments' records, not 20,000 objects' (≈ 11 MB).
    Matcher manifest = Pattern.compile("manifestBytes=(\\d+)").matcher(out);
    assertThat(manifest.find()).as(out).isTrue();
    assertThat(Long.parseLong(manifest.group(1))).isLessThan(64 * 1024);
    assertThat(Files.exists(tmp.resolve("repo"))).isTrue();
  }
}
