package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A genuine base backup carries what production's superuser set with ALTER SYSTEM: commands that a primary never
 * runs (recovery_end_command, archive_cleanup_command) and libraries it would load. The server Savepoint starts on the
 * restored directory runs none of them, sees none of this process's environment, and says what it switched off.
 */
class HostileClusterSettingsTest {
  @TempDir
  Path tmp;


  @Test
  void noCommandOrLibraryOfTheRestoredConfigurationRunsAndEachIsReported() throws Exception {
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    Path markers = Files.createDirectories(tmp.resolve("markers"));
    Files.setPosixFilePermissions(markers, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    try (TestPostgres server = TestPostgres.dedicated()) {
      PostgresUrl url = PostgresUrl.parse(server.url("postgres"));
      Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")))
          .signedWith(dev.savepoint.core.security.ManifestSigner.hmacSha256(new byte[32]));
      WalArchive archive = new WalArchive(repo, "cluster", List.of(Transforms.zstd()));
      WalStreamer streamer = new WalStreamer(url, archive, "savepoint_hostile_" + Long.toHexString(System.nanoTime()),
          Duration.ofMillis(300));
      Thread streaming = new Thread(streamer, "test-wal-streamer");
      streaming.start();
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).isNotNull();
        for (String command : List.of("recovery_end_command", "archive_cleanup_command", "archive_command")) {
          s.execute("ALTER SYSTEM SET " + command + " = 'env > " + markers.resolve(command) + "'");
        }
        s.execute("ALTER SYSTEM SET archive_mode = 'on'");
        s.execute("ALTER SYSTEM SET shared_preload_libraries = 'savepoint_no_such_library'");
        s.execute("ALTER SYSTEM SET ssl_passphrase_command = 'env > " + markers.resolve("ssl") + "'");
        Manifest base = BackupPlan.builder("cluster").source(new BaseBackupSource(url)).transform(Transforms.zstd())
            .repository(repo).verifier(Verifiers.presence(1)).build().run().manifest();
        s.execute("CREATE TABLE t AS SELECT 1 AS i");
        s.execute("SELECT pg_switch_wal()");
        s.execute("CREATE TABLE u (i int)");
        long end = WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
        Instant deadline = Instant.now().plusSeconds(30);
        while (streamer.durableLsn() < end && Instant.now().isBefore(deadline)) {
          Thread.sleep(100);
        }
        assertThat(base.id()).isNotNull();
      } finally {
        streamer.close();
        streaming.join(30_000);
      }
      PointInTimeRestore pitr = new PointInTimeRestore(repo, "cluster");
      PointInTimeRestore.Result restored = pitr.restore(null, tmp.resolve("restored"), Secrets.none());
      try (LocalCluster.Running running = LocalCluster.startRecovered(restored.directory(), restored.serverMajor(),
          Duration.ofMinutes(2))) {
        String pid = Files.readAllLines(restored.directory().resolve("postmaster.pid")).get(0).strip();
        String environment = new String(Files.readAllBytes(Path.of("/proc", pid, "environ")), StandardCharsets.UTF_8);
        for (String variable : System.getenv().keySet()) {
          // What runuser, the shell pg_ctl starts the server through and pg_ctl itself set are theirs, not ours.
          if (!List.of("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "LOGNAME", "SHELL", "PWD",
              "OLDPWD", "SHLVL", "_").contains(variable) && !variable.startsWith("PG") && !variable.startsWith("LC_")) {
            assertThat(environment).as("the server's environment").doesNotContain(variable + "=");
          }
        }
        try (Connection c = running.url().connect()) {
          assertThat(TestPostgres.single(c, "SHOW shared_preload_libraries")).isEmpty();
          assertThat(TestPostgres.single(c, "SHOW archive_mode")).isEqualTo("off");
          assertThat(TestPostgres.single(c, "SHOW hba_file")).as("production's pg_hba.conf is not the one in force")
              .doesNotStartWith(restored.directory().toString());
        }
      }
      LocalCluster.Recovered verified = LocalCluster.verifyRecovery(restored.directory(), restored.serverMajor(),
          Duration.ofMinutes(2));
      // recovery_end_command steers a recovery: the restore comments it out (below) and runs its own clean-up.
      assertThat(verified.neutralised()).anySatisfy(n -> assertThat(n).startsWith("archive_cleanup_command"))
          .anySatisfy(n -> assertThat(n).startsWith("shared_preload_libraries"))
          .anySatisfy(n -> assertThat(n).startsWith("ssl_passphrase_command"));
      try (var listed = Files.list(markers)) {
        assertThat(listed.toList()).as("commands of the restored configuration that ran").isEmpty();
      }
      // The restored configuration is kept for the operator as it was.
      assertThat(Files.readString(restored.directory().resolve("postgresql.auto.conf")))
          .containsPattern("# removed by savepoint restore \\S+: recovery_end_command = 'env > ")
          .contains("savepoint_no_such_library");
    }
  }

  @Test
  void aBaseBackupHoldingALinkIsRefusedAndNothingOutsideIsChowned() throws Exception {
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Path victim = Files.writeString(outside.resolve("victim"), "keep me");
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(bytes)) {
      var link = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("pg_wal",
          org.apache.commons.compress.archivers.tar.TarConstants.LF_SYMLINK);
      link.setLinkName(outside.toString());
      tar.putArchiveEntry(link);
      tar.closeArchiveEntry();
    }
    Path dest = Files.createDirectories(tmp.resolve("pgdata"));
    assertThatThrownBy(() -> dev.savepoint.core.internal.Tar.extract(
        new java.io.ByteArrayInputStream(bytes.toByteArray()), dest, false))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("symbolic link");
    // Ownership is given without following links: a link's target keeps its owner.
    Files.createSymbolicLink(dest.resolve("escape"), victim);
    Object before = Files.getOwner(victim);
    LocalCluster.giveToServerUser(dest);
    assertThat(Files.getOwner(victim)).isEqualTo(before);
    assertThat(Files.readString(victim)).isEqualTo("keep me");
  }

  /**
   * An object-store repository can hold any key: a WAL record named like a history file with ".." in it must never
   * become a path (it would write outside the data directory during a restore).
   */
  @Test
  void aWalRecordWhoseNameIsNoWalFileNameIsIgnored() throws Exception {
    dev.savepoint.core.store.InMemoryStore store = new dev.savepoint.core.store.InMemoryStore();
    Repository repo = new Repository(store);
    WalArchive archive = new WalArchive(repo, "cluster", List.of());
    byte[] history = "1\t0/3000000\tno recovery target specified\n".getBytes(StandardCharsets.UTF_8);
    archive.store("00000002.history", history, history.length);
    String record;
    try (var in = store.get("cluster/wal/00000002.history.json")) {
      record = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String evil = "../../../savepoint-escape.history";
    store.put("cluster/wal/" + evil + ".json", dev.savepoint.core.store.ByteSource.wrap(
        record.replace("\"00000002.history\"", "\"" + evil + "\"").getBytes(StandardCharsets.UTF_8)));
    assertThat(archive.entries()).containsOnlyKeys("00000002.history");
    assertThat(archive.damaged()).containsKey(evil);
    assertThatThrownBy(() -> archive.store(evil, history, history.length))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a WAL file name");
  }
}
