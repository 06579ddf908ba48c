package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Source;
import dev.savepoint.core.operations.Scheduler;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.testkit.TestPostgres;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Three "replicas", each with its own scheduler and lock connections, against one real PostgreSQL server. */
class ReplicaSchedulingTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  @Test
  void exactlyOneReplicaRunsEachScheduledSlot() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    AtomicInteger sourceRuns = new AtomicInteger();
    Source source = new Source() {
      @Override
      public String type() {
        return "counter";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        sourceRuns.incrementAndGet();
        try (OutputStream out = writer.open("data")) {
          out.write(new byte[1000]);
          Thread.sleep(400);
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
        return Map.of();
      }
    };
    PostgresUrl url = PostgresUrl.parse(pg.url("postgres"));
    List<Scheduler> replicas = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      BackupPlan plan = BackupPlan.builder("tier1").source(source).repository(repo).build();
      replicas.add(new Scheduler(new PostgresLockProvider(url)).schedule(plan, "*/2 * * * * *", ZoneOffset.UTC));
    }
    replicas.forEach(Scheduler::start);
    Thread.sleep(7_000);
    for (Scheduler s : replicas) {
      s.close();
    }
    List<Manifest> backups = repo.list("tier1");
    assertThat(backups.size()).isBetween(2, 4); // 3-4 slots in 7 s; a loaded machine may start late
    assertThat(sourceRuns.get()).isEqualTo(backups.size());
    // One backup per two-second slot.
    assertThat(backups.stream().map(m -> m.startedAt().getEpochSecond() / 2).distinct().count())
        .isEqualTo(backups.size());
  }

  @Test
  void advisoryLockIsExclusiveAcrossConnectionsAndReleased() throws Exception {
    PostgresLockProvider a = new PostgresLockProvider(PostgresUrl.parse(pg.url("postgres")));
    PostgresLockProvider b = new PostgresLockProvider(PostgresUrl.parse(pg.url("postgres")));
    Optional<dev.savepoint.core.operations.LockProvider.Lock> held = a.tryLock("plan-x");
    assertThat(held).isPresent();
    assertThat(b.tryLock("plan-x")).isEmpty();
    assertThat(b.tryLock("plan-y")).isPresent().get().satisfies(l -> l.close());
    held.get().close();
    Optional<dev.savepoint.core.operations.LockProvider.Lock> again = b.tryLock("plan-x");
    assertThat(again).isPresent();
    again.get().close();
  }

  @Test
  void shutdownDuringABackupAbortsItCleanly() throws Exception {
    // A pg_dump that writes a little, then hangs: the backup is mid-stream when the application stops.
    Path fake = tmp.resolve("pg_dump");
    java.nio.file.Files.writeString(fake, "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'pg_dump (fake) 15'; exit 0; }\n"
        + "head -c 100000 /dev/zero\nexec sleep 120\n");
    fake.toFile().setExecutable(true);
    String db = pg.createDatabase("shutdown");
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    BackupPlan plan = BackupPlan.builder("tier1").repository(repo)
        .source(PostgresSource.builder(PostgresUrl.parse(pg.url(db))).pgDump(fake.toString()).build()).build();
    Scheduler scheduler = new Scheduler(dev.savepoint.core.operations.LockProvider.inProcess());
    scheduler.schedule(plan, "* * * * * *", ZoneOffset.UTC).start();
    long deadline = System.currentTimeMillis() + 30_000; // until the backup runs (its lease), then mid-stream
    while (repo.store().list("tier1/").isEmpty() && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    Thread.sleep(1_000);
    long start = System.nanoTime();
    assertThat(scheduler.close(java.time.Duration.ofMillis(200))).as("finished within the grace period").isFalse();
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(10_000);
    assertThat(repo.list("tier1")).isEmpty();
    assertThat(repo.store().list("tier1/")).isEmpty();
  }
}
