package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.RetryPolicy;
import dev.savepoint.core.store.Store;
import dev.savepoint.core.store.Stores;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store where a share of the calls fail transiently — before they start, or (reads) in the middle of the bytes:
 * at 10 % backups, full verification, restores and prune succeed with the same bytes (the retrying store repeats
 * calls and resumes broken reads from where they broke); at 100 % they fail with a typed error, no manifest is
 * written and no target is touched. Streamed puts are the backend's own to retry (S3 retries parts) and pass here.
 */
class TransientFaultsTest {
  @TempDir
  Path tmp;

  static final class Flaky extends ForwardingStore {
    final Random random = new Random(10);
    final double rate;
    final AtomicInteger injected = new AtomicInteger();

    Flaky(Store delegate, double rate) {
      super(delegate);
      this.rate = rate;
    }

    synchronized void maybeFail(String what) throws TransientStoreException {
      if (random.nextDouble() < rate) {
        injected.incrementAndGet();
        throw new TransientStoreException("injected transient failure of " + what);
      }
    }

    @Override
    public void put(String key, ByteSource content) throws IOException {
      maybeFail("put " + key);
      super.put(key, content);
    }

    @Override
    public InputStream get(String key, long offset, long length) throws IOException {
      maybeFail("get " + key);
      InputStream in = super.get(key, offset, length);
      long breakAt;
      synchronized (this) {
        breakAt = random.nextDouble() < rate ? random.nextInt(64 * 1024) : Long.MAX_VALUE;
      }
      return new FilterInputStream(in) {
        long read;

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (read >= breakAt) {
            injected.incrementAndGet();
            throw new TransientStoreException("injected connection reset after " + read + " bytes of " + key);
          }
          int n = super.read(b, off, (int) Math.min(len, Math.max(1, breakAt - read)));
          read += Math.max(n, 0);
          return n;
        }
      };
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
      maybeFail("stat " + key);
      return super.stat(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
      maybeFail("list " + prefix);
      return super.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
      maybeFail("delete " + key);
      super.delete(key);
    }
  }

  private Path source() throws IOException {
    Path src = Files.createDirectories(tmp.resolve("src/maps"));
    Random random = new Random(3);
    for (int i = 0; i < 6; i++) {
      byte[] b = new byte[200_000];
      random.nextBytes(b);
      Files.write(src.resolve("map-" + i + ".png"), b);
    }
    return src.getParent();
  }

  private static BackupPlan plan(Repository repo, Path src) {
    return BackupPlan.builder("files").source(new DirectorySource(src)).transform(Transforms.zstd())
        .repository(repo).verifier(Verifiers.presence(1)).build();
  }

  @Test
  void atTenPercentEverythingSucceedsWithTheSameBytes() throws Exception {
    Path src = source();
    Flaky flaky = new Flaky(new FilesystemStore(tmp.resolve("repo")), 0.10);
    Repository repo = new Repository(Stores.standard(flaky, new RetryPolicy(8, Duration.ZERO, Duration.ZERO)));
    for (int i = 0; i < 4; i++) {
      plan(repo, src).run();
    }
    List<Manifest> backups = repo.list("files");
    assertThat(backups).hasSize(4);
    for (Manifest m : backups) {
      assertThat(repo.verify(m, List.of(Verifiers.roundTrip()))).allMatch(VerificationResult::passed);
      Path out = tmp.resolve("out-" + m.id());
      repo.restore(m, DirectoryTarget.of(out), Secrets.none());
      try (Stream<Path> files = Files.walk(src)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          assertThat(out.resolve(src.relativize(f))).hasSameBinaryContentAs(f);
        }
      }
    }
    repo.prune("files", Retention.builder().last(1).build(), false, Duration.ofHours(6));
    assertThat(repo.list("files")).hasSize(1);
    assertThat(flaky.injected.get()).as("faults injected").isGreaterThanOrEqualTo(5);
    System.out.printf("10 %% transient faults: %d injected; 4 backups, 4 full verifications, 4 restores, a prune%n",
        flaky.injected.get());
  }

  @Test
  void atOneHundredPercentEverythingFailsTypedAndTouchesNothing() throws Exception {
    Path src = source();
    Repository good = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = plan(good, src).run().manifest();
    Repository down = new Repository(Stores.standard(new Flaky(new FilesystemStore(tmp.resolve("repo")), 1.0),
        new RetryPolicy(3, Duration.ZERO, Duration.ZERO)));
    assertThatThrownBy(() -> plan(down, src).run()).isInstanceOf(StoreException.class);
    assertThat(good.list("files")).hasSize(1);
    Path out = tmp.resolve("out");
    assertThatThrownBy(() -> down.restore(m, DirectoryTarget.of(out), Secrets.none()))
        .isInstanceOf(StoreException.class);
    assertThat(out).doesNotExist();
    assertThatThrownBy(() -> down.prune("files", Retention.builder().last(1).build(), false, Duration.ofHours(6)))
        .isInstanceOf(StoreException.class);
    assertThat(good.list("files")).hasSize(1);
  }
}
