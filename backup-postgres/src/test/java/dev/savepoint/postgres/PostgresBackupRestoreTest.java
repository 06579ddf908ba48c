package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class PostgresBackupRestoreTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  static String trpg;

  @TempDir
  Path tmp;

  @BeforeAll
  static void createTrpg() throws SQLException {
    trpg = pg.createDatabase("trpg");
    try (Connection c = pg.connect(trpg)) {
      TrpgDatabase.create(c, 2);
    }
  }

  PostgresUrl url(String db) throws Exception {
    return PostgresUrl.parse(pg.url(db));
  }

  Repository repo() throws Exception {
    return new Repository(new FilesystemStore(tmp.resolve("repo")));
  }

  Manifest backup(Repository repo, PostgresSource source) throws Exception {
    return BackupPlan.builder("db").tier("tier1").source(source).transform(Transforms.zstd()).repository(repo)
        .verifier(Verifiers.presence(1)).build().run().manifest();
  }

  static String schemaDump(String db) throws Exception {
    Process p = new ProcessBuilder(dev.savepoint.postgres.internal.PgTools.find("pg_dump", 15), "--schema-only",
        "--no-password", "-h", pg.host(), "-p", Integer.toString(pg.port()), "-U", "postgres", db)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(out).isZero();
    // Restrict keys are random per dump; everything else must be identical.
    return out.replaceAll("(?m)^\\\\(un)?restrict .*$", "");
  }

  @Test
  void plainRoundTripRestoresIdenticalSchemaAndData() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, PostgresSource.builder(url(trpg)).build());
    Map<String, Object> facts = m.source().facts();
    assertThat(facts).containsKeys("serverVersion", "snapshot", "databaseSizeBytes", "pgDumpVersion");
    @SuppressWarnings("unchecked")
    Map<String, Number> counts = (Map<String, Number>) facts.get("tableRowCounts");
    assertThat(counts.get("\"public\".\"users\"").longValue()).isEqualTo(200);
    assertThat(counts.get("\"public\".\"chat_messages_2025\"").longValue()
        + counts.get("\"public\".\"chat_messages_2026\"").longValue()).isEqualTo(4000);

    String restored = "restored_" + System.nanoTime();
    Map<String, Object> result = repo.restore(m, PostgresTarget.builder(url(restored))
        .check("SELECT count(*) FROM users", "200").build(), Secrets.none()).facts();
    assertThat(result).containsEntry("tablesChecked", counts.size()).containsEntry("checksPassed", 1);
    try (Connection a = pg.connect(trpg); Connection b = pg.connect(restored)) {
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(TrpgDatabase.tableDigests(a));
    }
    assertThat(schemaDump(restored)).isEqualTo(schemaDump(trpg));
  }

  @Test
  void customFormatRoundTrip() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, PostgresSource.builder(url(trpg)).format(PostgresSource.Format.CUSTOM).build());
    assertThat(m.artifacts().get(0).name()).isEqualTo("database.dump");
    String restored = "restored_custom_" + System.nanoTime();
    repo.restore(m, PostgresTarget.builder(url(restored)).build(), Secrets.none());
    try (Connection a = pg.connect(trpg); Connection b = pg.connect(restored)) {
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(TrpgDatabase.tableDigests(a));
    }
  }

  static java.util.Set<String> countedTables(Manifest m) {
    return ((Map<?, ?>) m.source().facts().get("tableRowCounts")).keySet().stream().map(Object::toString)
        .collect(java.util.stream.Collectors.toSet());
  }

  @Test
  void tierSelectionAndExcludedTableData() throws Exception {
    Manifest m = backup(repo(), PostgresSource.builder(url(trpg)).table("users", "campaigns").build());
    assertThat(countedTables(m)).containsExactlyInAnyOrder("\"public\".\"users\"", "\"public\".\"campaigns\"");
    Repository repo = repo();
    Manifest all = backup(repo, PostgresSource.builder(url(trpg)).excludeTableData("session_cache").build());
    assertThat(countedTables(all)).doesNotContain("\"public\".\"session_cache\"").contains("\"public\".\"users\"");
    String restored = "restored_nocache_" + System.nanoTime();
    repo.restore(all, PostgresTarget.builder(url(restored)).check("SELECT count(*) FROM session_cache", "0").build(),
        Secrets.none());
  }

  @Test
  void countsMatchExactlyWhileTheApplicationKeepsWriting() throws Exception {
    String db = pg.createDatabase("busy");
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE chat (id bigserial PRIMARY KEY, body text)");
      s.execute("INSERT INTO chat (body) SELECT repeat('x', 200) FROM generate_series(1, 50000)");
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong written = new AtomicLong();
    List<Thread> writers = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      Thread t = new Thread(() -> {
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
          while (!stop.get()) {
            s.execute("INSERT INTO chat (body) VALUES ('during backup')");
            s.execute("DELETE FROM chat WHERE id = (SELECT min(id) FROM chat)");
            s.execute("INSERT INTO chat (body) VALUES ('more')");
            written.incrementAndGet();
          }
        } catch (SQLException e) {
          throw new RuntimeException(e);
        }
      });
      t.start();
      writers.add(t);
    }
    Repository repo = repo();
    Manifest m;
    try {
      Thread.sleep(200);
      m = backup(repo, PostgresSource.builder(url(db)).build());
      Thread.sleep(200);
    } finally {
      stop.set(true);
      for (Thread t : writers) {
        t.join();
      }
    }
    assertThat(written.get()).isGreaterThan(10);
    long recorded = ((Number) ((Map<?, ?>) m.source().facts().get("tableRowCounts")).get("\"public\".\"chat\"")).longValue();
    try (Connection c = pg.connect(db)) {
      assertThat(count(c, "chat")).as("the live table moved on").isNotEqualTo(recorded);
    }
    String restored = "restored_busy_" + System.nanoTime();
    repo.restore(m, PostgresTarget.builder(url(restored)).check("SELECT count(*) FROM chat", Long.toString(recorded))
        .build(), Secrets.none());
  }

  @Test
  void restoreOverNonEmptyDatabaseTakesARestorableSafetyBackupFirst() throws Exception {
    String live = pg.createDatabase("live");
    try (Connection c = pg.connect(live); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE current_state (v text)");
      s.execute("INSERT INTO current_state VALUES ('written after the backup')");
    }
    Repository repo = repo();
    Manifest m = backup(repo, PostgresSource.builder(url(trpg)).build());

    assertThatThrownBy(() -> repo.restore(m, PostgresTarget.builder(url(live)).build(), Secrets.none()))
        .isInstanceOf(RestoreException.class).hasMessageContaining("not empty");

    Map<String, Object> facts = repo.restore(m, PostgresTarget.builder(url(live)).safetyBackup(repo, "db-safety").build(),
        Secrets.none()).facts();
    String safetyId = (String) facts.get("safetyBackupId");
    assertThat(safetyId).isNotNull();
    try (Connection a = pg.connect(trpg); Connection b = pg.connect(live)) {
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(TrpgDatabase.tableDigests(a));
    }
    Manifest safety = repo.select("db-safety", BackupSelector.id(safetyId));
    String back = "restored_safety_" + System.nanoTime();
    repo.restore(safety, PostgresTarget.builder(url(back))
        .check("SELECT v FROM current_state", "written after the backup").build(), Secrets.none());
  }

  @Test
  void corruptBackupLeavesTheTargetDatabaseUntouched() throws Exception {
    String live = pg.createDatabase("untouched");
    try (Connection c = pg.connect(live); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE keep (v int)");
      s.execute("INSERT INTO keep VALUES (42)");
    }
    Repository repo = repo();
    Manifest m = backup(repo, PostgresSource.builder(url(trpg)).build());
    var a = m.artifacts().get(0);
    byte[] stored;
    try (InputStream in = repo.store().get(a.key())) {
      stored = in.readAllBytes();
    }
    stored[stored.length - 20] ^= 0x10;
    repo.store().put(a.key(), ByteSource.wrap(stored));

    assertThatThrownBy(() -> repo.restore(m, PostgresTarget.builder(url(live)).safetyBackup(repo, "s").build(),
        Secrets.none())).isInstanceOf(IntegrityException.class).hasMessageContaining(a.name());
    try (Connection c = pg.connect(live); Statement s = c.createStatement()) {
      var r = s.executeQuery("SELECT v FROM keep");
      r.next();
      assertThat(r.getInt(1)).isEqualTo(42);
    }
    try (Connection c = pg.connect("postgres")) {
      assertThat(count(c, "pg_database WHERE datname LIKE 'untouched%_sp%'")).as("scratch database dropped").isZero();
    }
  }

  @Test
  void badInputGivesTypedErrorsAndNoManifest() throws Exception {
    Repository repo = repo();
    assertThatThrownBy(() -> backup(repo, PostgresSource.builder(PostgresUrl.parse("postgresql://postgres@127.0.0.1:1/x")).build()))
        .isInstanceOf(SourceException.class).hasMessageContaining("cannot connect to postgresql://postgres@127.0.0.1:1/x");
    assertThatThrownBy(() -> backup(repo, PostgresSource.builder(url("no_such_database")).build()))
        .isInstanceOf(SourceException.class).hasMessageContaining("no_such_database");
    assertThatThrownBy(() -> backup(repo, PostgresSource.builder(url(trpg)).pgDump("/bin/false").build()))
        .isInstanceOf(SourceException.class).hasMessageContaining("pg_dump of").hasMessageContaining("exit code 1");
    assertThat(repo.list("db")).isEmpty();
    assertThat(repo.store().list("")).isEmpty();
  }

  @Test
  void wrongPasswordIsATypedErrorWithoutThePassword() throws Exception {
    String url = pg.createPasswordUser("right-password");
    String canary = "wrong-canary-" + System.nanoTime();
    Repository repo = repo();
    assertThatThrownBy(() -> backup(repo, PostgresSource.builder(PostgresUrl.parse(url).withPassword(canary::toCharArray)).build()))
        .isInstanceOf(SourceException.class).hasMessageContaining("password authentication failed")
        .satisfies(e -> assertThat(stackText(e)).doesNotContain(canary));
    Manifest ok = backup(repo, PostgresSource.builder(PostgresUrl.parse(url).withPassword("right-password"::toCharArray)).build());
    assertThat(ok.source().facts()).containsEntry("database", "postgres");
    assertThat(repo.list("db")).hasSize(1);
  }

  @Test
  void passwordNeverAppearsInErrorsOrManifests() throws Exception {
    String canary = "canary-Pa55-" + System.nanoTime();
    PostgresUrl withPassword = PostgresUrl.parse("postgresql://postgres:" + canary + "@127.0.0.1:1/db");
    assertThat(withPassword.toString()).doesNotContain(canary);
    Repository repo = repo();
    assertThatThrownBy(() -> backup(repo, PostgresSource.builder(withPassword).build()))
        .satisfies(e -> assertThat(stackText(e)).doesNotContain(canary));
    // Trust auth ignores the password, so this backup succeeds: the manifest must not carry it.
    Manifest m = backup(repo, PostgresSource.builder(url(trpg).withPassword(canary::toCharArray)).build());
    try (InputStream in = repo.store().get("db/" + m.id() + "/manifest.json")) {
      assertThat(new String(in.readAllBytes())).doesNotContain(canary);
    }
  }

  @Test
  void drillRestoresVerifiesDropsAndRecordsReport() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, PostgresSource.builder(url(trpg)).build());
    List<dev.savepoint.core.operations.Event> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    RestoreDrill.Report report = new RestoreDrill(repo, "db", url("postgres"), BackupSelector.latest(), Secrets.none(),
        events::add).run();
    assertThat(report.passed()).as(report.detail()).isTrue();
    assertThat(events).singleElement().satisfies(e -> {
      assertThat(e.type()).isEqualTo(dev.savepoint.core.operations.Event.Type.DRILL_PASSED);
      assertThat(e.message()).contains("rows");
    });
    assertThat(report.backupId()).isEqualTo(m.id());
    assertThat(report.rowsChecked()).isGreaterThan(4000);
    assertThat(RestoreDrill.reports(repo, m)).containsExactly(report);
    // The latest drill among several backups is the most recent by time, whichever backup it drilled.
    Manifest second = backup(repo, PostgresSource.builder(url(trpg)).build());
    RestoreDrill.Report older = new RestoreDrill.Report("db", second.id(), report.startedAt().minusSeconds(60), 1, 1,
        1, false, "recorded by hand");
    RestoreDrill.record(repo, second, older);
    assertThat(RestoreDrill.latest(repo, List.of(second, m))).contains(report);
    RestoreDrill.Report newer = new RestoreDrill.Report("db", second.id(), report.startedAt().plusSeconds(60), 1, 1,
        1, false, "recorded by hand");
    RestoreDrill.record(repo, second, newer);
    assertThat(RestoreDrill.latest(repo, List.of(m, second))).contains(newer);
    assertThat(RestoreDrill.latest(repo, List.of())).isEmpty();
    try (Connection c = pg.connect("postgres")) {
      assertThat(count(c, "pg_database WHERE datname LIKE 'savepoint_drill_%'")).isZero();
    }
  }

  @Test
  void pgDumpKilledMidStreamFailsTheBackup() throws Exception {
    // A "pg_dump" that writes part of a dump and dies, as when the server goes away mid-stream.
    Path fake = tmp.resolve("pg_dump");
    java.nio.file.Files.writeString(fake, "#!/bin/sh\nhead -c 300000 /dev/zero\necho 'pg_dump: error: connection to server lost' >&2\nexit 1\n");
    fake.toFile().setExecutable(true);
    Repository repo = repo();
    assertThatThrownBy(() -> backup(repo, PostgresSource.builder(url(trpg)).pgDump(fake.toString()).build()))
        .isInstanceOf(SourceException.class).hasMessageContaining("connection to server lost");
    assertThat(repo.list("db")).isEmpty();
    assertThat(repo.store().list("")).isEmpty();
  }

  /** {@code SELECT count(*) FROM <from>}. */
  @Test
  void aRestoreDropsTheScratchDatabaseOfAKilledEarlierRestore() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, PostgresSource.builder(url(trpg)).build());
    String target = "scratch_target_" + System.nanoTime();
    String abandoned = target + "_sp1234abcd";
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + abandoned); // what a kill -9 between load and swap leaves
    }
    // A live restore's scratch database, between phases with no session in it: leased, so never taken for abandoned.
    String live = target + "_sp5678cdef";
    try (var lease = dev.savepoint.postgres.internal.ScratchLease.hold(url("postgres"), live)) {
      try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE " + live);
      }
      assertThat(PostgresTarget.abandonedScratch(url(target), java.time.Duration.ZERO))
          .extracting(PostgresTarget.AbandonedScratch::name).containsExactly(abandoned);
      repo.restore(m, PostgresTarget.builder(url(target)).build(), Secrets.none());
      assertThat(pg.databaseExists(abandoned)).isFalse();
      assertThat(pg.databaseExists(live)).as("the live restore's scratch database").isTrue();
    }
    // Its restore gone (the lease with its session), it is abandoned — unless younger than --min-age says.
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      s.execute("COMMENT ON DATABASE " + live + " IS 'savepoint scratch database of a restore begun "
          + java.time.Instant.now() + "'");
    }
    assertThat(PostgresTarget.abandonedScratch(url(target), java.time.Duration.ofHours(1))).isEmpty();
    assertThat(PostgresTarget.dropAbandonedScratch(url(target), java.time.Duration.ZERO))
        .extracting(PostgresTarget.AbandonedScratch::name).containsExactly(live);
    assertThat(pg.databaseExists(live)).isFalse();
    assertThat(pg.databaseExists(target)).isTrue();
    pg.dropDatabase(target);
  }

  static long count(Connection c, String from) throws SQLException {
    try (Statement s = c.createStatement(); java.sql.ResultSet r = s.executeQuery("SELECT count(*) FROM " + from)) {
      r.next();
      return r.getLong(1);
    }
  }

  static String stackText(Throwable e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    e.printStackTrace(new java.io.PrintStream(out));
    return out.toString();
  }

  static void await(Process p) throws InterruptedException {
    p.waitFor(60, TimeUnit.SECONDS);
  }
}
