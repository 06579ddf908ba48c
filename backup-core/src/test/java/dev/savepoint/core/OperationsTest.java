package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.savepoint.core.operations.Event;
import dev.savepoint.core.operations.LockProvider;
import dev.savepoint.core.operations.MicrometerMetrics;
import dev.savepoint.core.operations.Notifier;
import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.operations.RpoMonitor;
import dev.savepoint.core.operations.Scheduler;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OperationsTest {
  final InMemoryStore store = new InMemoryStore();
  final Repository repo = new Repository(store);
  HttpServer http;
  final List<String> received = new CopyOnWriteArrayList<>();

  @AfterEach
  void stopHttp() {
    if (http != null) {
      http.stop(0);
    }
  }

  Manifest fake(String plan, Instant started) throws IOException {
    String id = dev.savepoint.core.internal.BackupIds.newId(started);
    Manifest m = new Manifest(Manifest.FORMAT_VERSION, id, plan, "t", Map.of(), started, started.plusSeconds(5),
        new Manifest.SourceInfo("test", Map.of()), List.of(new ArtifactRecord("a", plan + "/" + id + "/a", 1, 1,
            "x", "x", List.of())));
    store.put(plan + "/" + id + "/a", ByteSource.wrap(new byte[] {1}));
    repo.writeManifest(m);
    return m;
  }

  @Test
  void gfsRetentionKeepsOnePerPeriodAndExplainsWhy() throws IOException {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    List<Manifest> all = new ArrayList<>();
    for (int h = 0; h < 24 * 40; h += 6) { // every 6 hours for 40 days
      all.add(fake("db", now.minus(Duration.ofHours(h))));
    }
    Retention policy = Retention.builder().daily(7).weekly(4).monthly(3).zone(ZoneOffset.UTC).build();
    List<Retention.Verdict> verdicts = repo.prune("db", policy, true, Duration.ofHours(1));
    assertThat(verdicts).hasSize(all.size());
    long kept = verdicts.stream().filter(Retention.Verdict::keep).count();
    // 7 daily + up to 4 weekly + up to 3 monthly, overlapping: at most 14, at least 7.
    assertThat(kept).isBetween(7L, 14L);
    Retention.Verdict newest = verdicts.get(0);
    assertThat(newest.reasons()).contains("newest backup", "daily 1/7", "weekly 1/4", "monthly 1/3");
    assertThat(repo.list("db")).hasSize(all.size()); // dry run deleted nothing

    repo.prune("db", policy, false, Duration.ofHours(1));
    assertThat(repo.list("db")).hasSize((int) kept);
  }

  @Test
  void retentionOrdersByBackupTimeNotListingOrder() {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    Manifest older = manifestAt("b-later-id", t);
    Manifest newer = manifestAt("a-earlier-id", t.plusSeconds(3600));
    List<Retention.Verdict> v = Retention.builder().last(1).build().apply(List.of(newer, older), t, Set.of());
    assertThat(v.get(0).backup()).isEqualTo(newer);
    assertThat(v.get(0).keep()).isTrue();
    assertThat(v.get(1).keep()).isFalse();
  }

  static Manifest manifestAt(String id, Instant t) {
    return new Manifest(1, id, "p", null, Map.of(), t, t, new Manifest.SourceInfo("s", Map.of()), List.of());
  }

  @Test
  void newestAndLeasedBackupsAreNeverPruned() throws IOException {
    Instant now = Instant.now();
    Manifest old = fake("db", now.minus(Duration.ofDays(30)));
    Manifest older = fake("db", now.minus(Duration.ofDays(40)));
    Manifest newest = fake("db", now.minus(Duration.ofDays(20)));
    try (Repository.Lease lease = repo.lease(older, "drill", Duration.ofHours(1))) {
      repo.prune("db", Retention.keepWithin(Duration.ofDays(1)), false, Duration.ofHours(1));
      assertThat(repo.list("db")).extracting(Manifest::id).containsExactly(older.id(), newest.id());
    }
    repo.prune("db", Retention.keepWithin(Duration.ofDays(1)), false, Duration.ofHours(1));
    assertThat(repo.list("db")).extracting(Manifest::id).containsExactly(newest.id());
    assertThat(old).isNotNull();
  }

  /**
   * The newest backup that passed a full verification or a drill survives any rule, and the pin moves on only to a
   * newer proven backup: a report that does not say "passed" proves nothing.
   */
  @Test
  void theLastKnownGoodBackupIsNeverPruned() throws IOException {
    Instant now = Instant.now();
    Manifest proven = fake("db", now.minus(Duration.ofDays(30)));
    Manifest failedDrill = fake("db", now.minus(Duration.ofDays(20)));
    fake("db", now.minus(Duration.ofDays(10)));
    Manifest newest = fake("db", now.minus(Duration.ofDays(1)));
    repo.recordVerification(proven, List.of(VerificationResult.pass("sha256", "1 artifact")));
    repo.writeAttachment(failedDrill, Repository.DRILLS + "x.json", "{\"passed\":false}".getBytes());
    assertThat(repo.lastKnownGood(repo.list("db")).orElseThrow().getValue())
        .isEqualTo("last known good: passed a full verification");
    repo.prune("db", Retention.builder().last(1).build(), false, Duration.ofHours(1));
    assertThat(repo.list("db")).extracting(Manifest::id).containsExactly(proven.id(), newest.id());

    repo.writeAttachment(newest, Repository.DRILLS + "y.json", "{\"passed\":true}".getBytes());
    List<Retention.Verdict> verdicts = repo.prune("db", Retention.builder().last(1).build(), false, Duration.ofHours(1));
    assertThat(verdicts.get(0).reasons()).contains("last known good: passed a restore drill");
    assertThat(repo.list("db")).extracting(Manifest::id).containsExactly(newest.id());
  }

  /**
   * Issue 37.5: a backup whose manifest was lost is DAMAGED and kept — its completion marker proves it finished — while
   * a killed run's remains (no manifest, no marker) are still cleaned up.
   */
  @Test
  void aLostManifestIsDamagedAndKeptWhileAKilledRunsRemainsGo() throws IOException {
    Instant old = Instant.now().minus(Duration.ofDays(2));
    Manifest lost = fake("db", old);
    store.delete(lost.plan() + "/" + lost.id() + "/" + Repository.MANIFEST);
    String killed = dev.savepoint.core.internal.BackupIds.newId(old.plusSeconds(60));
    store.put("db/" + killed + "/a", ByteSource.wrap(new byte[] {2}));
    assertThat(repo.damaged("db")).singleElement().satisfies(d -> {
      assertThat(d.id()).isEqualTo(lost.id());
      assertThat(d.reason()).contains("manifest is missing, but the backup completed");
    });
    assertThat(repo.orphans("db", Duration.ofHours(1))).containsExactly(killed);
    repo.deleteOrphans("db", Duration.ofHours(1));
    assertThat(store.stat("db/" + lost.id() + "/a")).as("the lost manifest's data is kept").isPresent();
    assertThat(store.stat("db/" + killed + "/a")).isEmpty();
    // Deleting it on purpose still works, marker first: nothing of it is left to look damaged.
    repo.deleteBackup("db", lost.id());
    assertThat(repo.damaged("db")).isEmpty();
    assertThat(store.list("db/" + lost.id() + "/")).isEmpty();
  }

  @Test
  void cleanupLeavesARunningBackupAloneHoweverOldItIs() throws Exception {
    java.util.concurrent.CountDownLatch written = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch proceed = new java.util.concurrent.CountDownLatch(1);
    Source slow = new Source() {
      @Override
      public String type() {
        return "slow";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        try (java.io.OutputStream out = writer.open("first")) {
          out.write(new byte[100_000]);
        }
        written.countDown();
        try {
          proceed.await();
        } catch (InterruptedException e) {
          throw new java.io.InterruptedIOException();
        }
        try (java.io.OutputStream out = writer.open("second")) {
          out.write(new byte[10]);
        }
        return Map.of();
      }
    };
    java.util.concurrent.CompletableFuture<BackupPlan.BackupResult> running = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> {
          try {
            return BackupPlan.builder("db").source(slow).repository(repo).build().run();
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
    assertThat(written.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    // Without its lease, a backup with objects and no manifest, started before the cut-off, is an orphan.
    assertThat(repo.orphans("db", Duration.ZERO)).isEmpty();
    assertThat(repo.deleteOrphans("db", Duration.ZERO)).isZero();
    proceed.countDown();
    Manifest m = running.get(30, java.util.concurrent.TimeUnit.SECONDS).manifest();
    assertThat(m.artifacts()).extracting(ArtifactRecord::name).containsExactly("first", "second");
    try (java.io.InputStream in = repo.openRaw(m.artifacts().get(0), Secrets.none())) {
      assertThat(in.readAllBytes()).hasSize(100_000);
    }
    assertThat(store.list("db/" + m.id() + "/leases/")).as("released at the end").isEmpty();

    // A killed backup stops renewing its lease: once that lapses, its remains are an orphan.
    store.put("db/20200101T000000.000Z-dead/first", ByteSource.wrap(new byte[10]));
    store.put("db/20200101T000000.000Z-dead/leases/running.lease",
        ByteSource.wrap((Instant.now().minusSeconds(1) + "\nbackup running\n").getBytes(StandardCharsets.UTF_8)));
    assertThat(repo.orphans("db", Duration.ZERO)).containsExactly("20200101T000000.000Z-dead");
  }

  @Test
  void rpoMonitorAlertsOnlyWhenTheNewestBackupIsTooOld() throws IOException {
    assertThat(RpoMonitor.check(repo, "db", Duration.ofHours(1), Instant.now())).get()
        .extracting(Event::message).asString().contains("no verified backup");
    fake("db", Instant.now().minus(Duration.ofMinutes(90)));
    assertThat(RpoMonitor.check(repo, "db", Duration.ofHours(1), Instant.now())).get()
        .satisfies(e -> assertThat(e.type()).isEqualTo(Event.Type.RPO_BREACHED));
    fake("db", Instant.now().minus(Duration.ofMinutes(10)));
    assertThat(RpoMonitor.check(repo, "db", Duration.ofHours(1), Instant.now())).isEmpty();
  }

  URI startHttp(int status) throws IOException {
    http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/", ex -> {
      received.add(ex.getRequestURI().getPath() + " " + new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      ex.sendResponseHeaders(status, -1);
      ex.close();
    });
    http.start();
    return URI.create("http://127.0.0.1:" + http.getAddress().getPort());
  }

  @Test
  void slackAndWebhookNotifiersPostUsefulMessages() throws Exception {
    URI base = startHttp(200);
    BackupPlan plan = BackupPlan.builder("trpg-tier1").source(StreamSource.of("a", ByteSource.wrap(new byte[100])))
        .repository(repo).notifier(Notifier.slack(base.resolve("/services/T000/B000/XXXX")))
        .notifier(Notifier.webhook(base.resolve("/hook"))).build();
    Manifest m = plan.run().manifest();
    assertThat(received).hasSize(2);
    assertThat(received.get(0)).startsWith("/services/T000/B000/XXXX {\"text\":")
        .contains("trpg-tier1", "backup succeeded", m.id(), "100 bytes raw");
    assertThat(received.get(1)).startsWith("/hook ").contains("\"type\":\"BACKUP_SUCCEEDED\"", "\"plan\":\"trpg-tier1\"");

    received.clear();
    BackupPlan failing = BackupPlan.builder("trpg-tier1")
        .source(StreamSource.file(java.nio.file.Path.of("/no/such/file"))).repository(repo)
        .notifier(Notifier.slack(base.resolve("/services/x"))).build();
    assertThatThrownBy(failing::run).isInstanceOf(SourceException.class);
    assertThat(received).singleElement().asString().contains("backup failed", "does not exist");
  }

  @Test
  void aFailingNotifierNeverFailsTheBackup() throws Exception {
    URI broken = startHttp(500);
    AtomicInteger logged = new AtomicInteger();
    BackupPlan plan = BackupPlan.builder("p").source(StreamSource.of("a", ByteSource.wrap(new byte[1])))
        .repository(repo).notifier(Notifier.slack(broken.resolve("/secret-token-path")))
        .notifier(e -> {
          throw new IOException("down");
        }).notifier(e -> logged.incrementAndGet()).build();
    assertThat(plan.run().manifest()).isNotNull();
    assertThat(logged.get()).isEqualTo(1);
    assertThatThrownBy(() -> Notifier.slack(URI.create("http://127.0.0.1:1/secret-token-path"))
        .notify(new Event(Event.Type.BACKUP_FAILED, "p", null, Instant.now(), "m", null)))
        .isInstanceOf(IOException.class).hasMessageNotContaining("secret-token-path");
  }

  @Test
  void badCronIsAClearError() {
    assertThatThrownBy(() -> Scheduler.validateCron("61 * * * *")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid cron expression '61 * * * *'");
    assertThatThrownBy(() -> Scheduler.validateCron("0 0 * * * * *")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("it has 7 fields; use 5").hasMessageContaining("or 6 with seconds first");
    java.time.ZonedDateTime at = java.time.ZonedDateTime.parse("2026-11-29T08:30:01Z");
    assertThat(Scheduler.nextRun("0 * * * *", at)).contains(java.time.ZonedDateTime.parse("2026-11-29T09:00:00Z"));
    assertThat(Scheduler.nextRun("*/2 * * * * *", at)).contains(java.time.ZonedDateTime.parse("2026-11-29T08:30:02Z"));
  }

  @Test
  void schedulerCatchesUpWhenRpoIsAtRiskAndNeverOverlaps() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    Source slow = new Source() {
      @Override
      public String type() {
        return "slow";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        runs.incrementAndGet();
        try (var out = writer.open("a")) {
          out.write(1);
          Thread.sleep(300);
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
        return Map.of();
      }
    };
    BackupPlan plan = BackupPlan.builder("hourly").source(slow).repository(repo).rpo(Duration.ofHours(1)).build();
    LockProvider locks = LockProvider.inProcess();
    try (Scheduler a = new Scheduler(locks); Scheduler b = new Scheduler(locks)) {
      a.schedule(plan, "0 0 1 1 *", ZoneOffset.UTC).start(); // yearly: only the catch-up runs now
      b.schedule(plan, "0 0 1 1 *", ZoneOffset.UTC);
      long deadline = System.currentTimeMillis() + 10_000;
      while (repo.list("hourly").isEmpty() && System.currentTimeMillis() < deadline) {
        Thread.sleep(50);
      }
      b.start(); // a replica starting later: the RPO is no longer at risk, so it must not run again
      Thread.sleep(800);
    }
    assertThat(repo.list("hourly")).hasSize(1);
    assertThat(runs.get()).isEqualTo(1);
  }

  @Test
  void verifiedBackupsAreCopiedToTheArchiveManifestLast() throws Exception {
    InMemoryStore archiveStore = new InMemoryStore();
    Repository archive = new Repository(archiveStore);
    byte[] data = new byte[200_000];
    new java.util.Random(5).nextBytes(data);
    Manifest m = BackupPlan.builder("monthly").source(StreamSource.of("db.sql", ByteSource.wrap(data)))
        .transform(Transforms.gzip()).repository(repo).copyTo(archive).build().run().manifest();
    assertThat(archive.list("monthly")).extracting(Manifest::id).containsExactly(m.id());
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    archive.restore(m, StreamTarget.stream(out), Secrets.none());
    assertThat(out.toByteArray()).isEqualTo(data);
    assertThat(repo.copyTo(m, archive).id()).isEqualTo(m.id()); // idempotent

    // A corrupt primary never becomes an archive backup.
    Repository archive2 = new Repository(new InMemoryStore());
    ArtifactRecord a = m.artifacts().get(0);
    store.put(a.key(), ByteSource.wrap(new byte[] {1, 2, 3}));
    assertThatThrownBy(() -> repo.copyTo(m, archive2)).isInstanceOf(IntegrityException.class);
    assertThat(archive2.list("monthly")).isEmpty();
  }

  @Test
  void micrometerMetricsRecordSuccessesFailuresAndAge() throws Exception {
    var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    MicrometerMetrics metrics = new MicrometerMetrics(registry);
    BackupPlan.builder("m").source(StreamSource.of("a", ByteSource.wrap(new byte[1234]))).repository(repo)
        .notifier(metrics).build().run();
    assertThatThrownBy(() -> BackupPlan.builder("m").source(StreamSource.file(java.nio.file.Path.of("/nope")))
        .repository(repo).notifier(metrics).build().run()).isInstanceOf(SourceException.class);
    assertThat(registry.get("savepoint.backup.bytes.raw").tag("plan", "m").counter().count()).isEqualTo(1234.0);
    assertThat(registry.get("savepoint.backup.failures").tag("plan", "m").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("savepoint.backup.duration").tag("plan", "m").timer().count()).isEqualTo(1);
    assertThat(registry.get("savepoint.backup.last.success.age").tag("plan", "m").gauge().value()).isBetween(0.0, 5.0);
  }

  /** Issue 40.4: a scheduled run that cannot take its lock (the lock database is down) is a failure everyone sees. */
  @Test
  void aScheduledRunThatCannotStartIsAFailedBackup() throws Exception {
    List<Event> events = new CopyOnWriteArrayList<>();
    fake("locked-out", Instant.now().minus(Duration.ofHours(3)));
    BackupPlan plan = BackupPlan.builder("locked-out").source(StreamSource.of("a", ByteSource.wrap(new byte[1])))
        .repository(repo).rpo(Duration.ofHours(1)).notifier(events::add).build();
    LockProvider down = name -> {
      throw new StoreException("advisory lock 'savepoint-plan:locked-out' on postgresql://db/app: connection refused");
    };
    try (Scheduler s = new Scheduler(down)) {
      s.schedule(plan, "0 0 1 1 *", ZoneOffset.UTC).start(); // the catch-up run at start cannot take its lock
      long deadline = System.currentTimeMillis() + 20_000;
      while (System.currentTimeMillis() < deadline && events.stream().noneMatch(e -> e.type() == Event.Type.BACKUP_FAILED)) {
        Thread.sleep(50);
      }
    }
    assertThat(events).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo(Event.Type.BACKUP_FAILED);
      assertThat(e.message()).contains("could not start", "connection refused");
    });
  }

  @Test
  void schedulerNotifiesAnRpoBreachOnce() throws Exception {
    List<Event> events = new CopyOnWriteArrayList<>();
    fake("stale", Instant.now().minus(Duration.ofHours(3)));
    BackupPlan plan = BackupPlan.builder("stale").source(StreamSource.file(java.nio.file.Path.of("/no/such/file")))
        .repository(repo).rpo(Duration.ofMillis(400)).notifier(events::add).build();
    try (Scheduler s = new Scheduler(LockProvider.inProcess())) {
      s.schedule(plan, "0 0 1 1 *", ZoneOffset.UTC).start(); // catch-up fails (no source): still stale
      long deadline = System.currentTimeMillis() + 20_000; // a loaded machine may take a while to get there
      while (System.currentTimeMillis() < deadline && events.stream().map(Event::type)
          .filter(t -> t == Event.Type.RPO_BREACHED || t == Event.Type.BACKUP_FAILED).distinct().count() < 2) {
        Thread.sleep(50);
      }
      Thread.sleep(1_000); // more than twice the RPO: time for a second notice, which must not come
    }
    assertThat(events.stream().filter(e -> e.type() == Event.Type.RPO_BREACHED).count()).isEqualTo(1);
    assertThat(events).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo(Event.Type.BACKUP_FAILED);
      assertThat(e.backupId()).as("a failure names the backup that failed, as its log line does").matches(
          dev.savepoint.core.internal.BackupIds::isId);
    });
  }
}
