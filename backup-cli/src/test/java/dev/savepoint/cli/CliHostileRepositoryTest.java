package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.savepoint.testkit.TestPostgres;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker who can write the repository (no keys, no signing key) must not run code on the restore host or
 * the database server, write outside a restore target, or make one plan's backup pass for another's.
 */
class CliHostileRepositoryTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  String database() throws Exception {
    String db = pg.createDatabase("hostile");
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
      s.execute("INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 100) i");
    }
    return db;
  }

  static Path only(Path repo, String suffix) throws Exception {
    try (Stream<Path> files = Files.walk(repo)) {
      return files.filter(p -> p.toString().endsWith(suffix)).findFirst().orElseThrow();
    }
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  /** Replaces an uncompressed artifact and, as an attacker without a signing key can, its manifest entry. */
  static void forge(Path repo, String artifact, byte[] content) throws Exception {
    Path manifest = only(repo, "manifest.json");
    ObjectNode m = (ObjectNode) JSON.readTree(manifest.toFile());
    for (JsonNode a : m.get("artifacts")) {
      if (a.get("name").asText().equals(artifact)) {
        ObjectNode o = (ObjectNode) a;
        String digest = sha256(content);
        o.put("rawBytes", content.length).put("storedBytes", content.length).put("rawSha256", digest)
            .put("storedSha256", digest);
        ArrayNode chunks = ((ObjectNode) o.get("rawChunks")).putArray("sha256");
        chunks.add(digest.substring(0, 32)); // One chunk: the forged files are small.
        Files.write(repo.resolve(a.get("key").asText()), content);
      }
    }
    Files.write(manifest, JSON.writeValueAsBytes(m));
  }

  @Test
  void aTamperedPlainDumpNeverReachesPsql() throws Exception {
    String db = database();
    Path repo = tmp.resolve("repo");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "p", "--source", pg.url(db),
        "--pg-format", "plain", "--compress", "none").exit()).isZero();
    Path dump = only(repo, "database.sql");
    Path marker = Path.of("/tmp/sp_" + Long.toHexString(System.nanoTime() & 0xffffffffL));
    String comment = "-- PostgreSQL database dump";
    String attack = ("\\! touch " + marker + "                              ").substring(0, comment.length());
    assertThat(attack.strip()).endsWith(marker.toString()); // Same length: sizes still match.
    String text = Files.readString(dump);
    assertThat(text).contains(comment);
    Files.writeString(dump, text.replaceFirst(comment, java.util.regex.Matcher.quoteReplacement(attack)));

    String restored = "hostile_restored_" + System.nanoTime();
    CliProcess.Result r = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "p", "--to", pg.url(restored));
    assertThat(r.exit()).as(r.err()).isEqualTo(Main.INTEGRITY);
    assertThat(r.err()).contains("chunk 0 SHA-256 mismatch");
    assertThat(marker).as("psql ran the attacker's shell command").doesNotExist();
    assertThat(pg.databaseExists(restored)).isFalse();
  }

  @Test
  void aForgedParallelScriptCannotRunAnythingButCopyEvenWithConsistentDigests() throws Exception {
    String db = database();
    Path repo = tmp.resolve("repo");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "p", "--source", pg.url(db),
        "--compress", "none", "--pg-format", "parallel").exit()).isZero();
    Path script = only(repo, "-public.t.sql");
    Path marker = tmp.resolve("pwned-server");
    String text = Files.readString(script);
    String forged = text.replaceFirst("COPY \"public\".\"t\" ",
        java.util.regex.Matcher.quoteReplacement("COPY (SELECT 1) TO PROGRAM 'touch " + marker + "'; COPY \"public\".\"t\" "));
    forge(repo, "data/" + script.getFileName().toString().replace(".sql", "") + ".sql",
        forged.getBytes(StandardCharsets.UTF_8));

    String restored = "hostile_parallel_" + System.nanoTime();
    CliProcess.Result r = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "p", "--to", pg.url(restored));
    assertThat(r.exit()).as(r.err()).isEqualTo(Main.INTEGRITY);
    assertThat(r.err()).contains("is not a table script of the parallel format");
    assertThat(marker).as("the server ran COPY TO PROGRAM").doesNotExist();
    assertThat(pg.databaseExists(restored)).isFalse();
  }

  @Test
  void aDirectoryBackupCannotWriteOutsideItsTarget() throws Exception {
    Path source = Files.createDirectories(tmp.resolve("site"));
    Files.writeString(source.resolve("index.html"), "hello");
    Path repo = tmp.resolve("repo");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "files", "--source", "file:" + source,
        "--compress", "none").exit()).isZero();
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    ByteArrayOutputStream tarBytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(tarBytes)) {
      TarArchiveEntry link = new TarArchiveEntry("d", TarConstants.LF_SYMLINK);
      link.setLinkName(outside.toString());
      tar.putArchiveEntry(link);
      tar.closeArchiveEntry();
      TarArchiveEntry second = new TarArchiveEntry("d/newdir/planted", TarConstants.LF_SYMLINK);
      second.setLinkName("/etc/passwd");
      tar.putArchiveEntry(second);
      tar.closeArchiveEntry();
    }
    forge(repo, "files.tar", tarBytes.toByteArray());

    Path target = tmp.resolve("restored");
    CliProcess.Result r = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "files", "--to", "file:" + target);
    assertThat(r.exit()).as(r.err()).isEqualTo(Main.INTEGRITY);
    assertThat(r.err()).contains("passes through d, which is not a directory");
    try (Stream<Path> planted = Files.list(outside)) {
      assertThat(planted).as("nothing written through the link").isEmpty();
    }
    assertThat(target).doesNotExist();
    try (Stream<Path> left = Files.list(tmp)) {
      assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("savepoint-restore"));
    }
  }

  @Test
  void aManifestCopiedFromAnotherPlanOrIntoTheFutureIsIgnored() throws Exception {
    Path repo = tmp.resolve("repo");
    Path prodData = tmp.resolve("prod.txt");
    Path stagingData = tmp.resolve("staging.txt");
    Files.writeString(prodData, "production");
    Files.writeString(stagingData, "staging");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "prod", "--source", "file:" + prodData).exit()).isZero();
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "staging", "--source", "file:" + stagingData).exit()).isZero();
    Path stagingBackup;
    try (Stream<Path> dirs = Files.list(repo.resolve("staging"))) {
      stagingBackup = dirs.findFirst().orElseThrow();
    }
    // Staging's newest backup, copied under prod with a far-future id and with a current id.
    for (String id : new String[] {"29991231T235959.999Z-ffff", stagingBackup.getFileName().toString()}) {
      Path copy = Files.createDirectories(repo.resolve("prod").resolve(id));
      try (Stream<Path> files = Files.list(stagingBackup)) {
        for (Path f : files.toList()) {
          Files.copy(f, copy.resolve(f.getFileName()));
        }
      }
    }
    CliProcess.Result restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "prod", "latest",
        "--to", "file:" + tmp.resolve("out.txt"));
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(Files.readString(tmp.resolve("out.txt"))).isEqualTo("production");
    JsonNode list = JSON.readTree(CliProcess.run("list", "--repo", "file:" + repo, "--plan", "prod", "--json").out());
    assertThat(list).hasSize(3);
    assertThat(list.findValuesAsText("damaged")).hasSize(2).allMatch(d -> d.contains("valid only where it was written"));
    CliProcess.Result byId = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "prod",
        stagingBackup.getFileName().toString(), "--to", "file:" + tmp.resolve("out2.txt"));
    assertThat(byId.exit()).as(byId.err()).isEqualTo(Main.INTEGRITY);
    assertThat(byId.err()).contains("no intact backup of plan 'prod'", "a manifest is valid only where it was written");

    CliProcess.Result prune = CliProcess.run("prune", "--repo", "file:" + repo, "--plan", "prod", "--keep-last", "1");
    assertThat(prune.exit()).as(prune.err() + prune.out()).isZero();
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", "file:" + repo, "--plan", "staging", "--json").out())
        .findValuesAsText("damaged")).isEmpty();
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", "file:" + repo, "--plan", "staging", "--json").out()))
        .as("pruning prod never deletes staging's backups").hasSize(1);
  }

  @Test
  void postgresToolsSeeNoSecretsOfTheEnvironment() throws Exception {
    String db = database();
    String canary = "canary-" + System.nanoTime();
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path log = tmp.resolve("tool-env.log");
    for (String tool : new String[] {"pg_dump", "psql", "pg_restore"}) {
      Path wrapper = bin.resolve(tool);
      String real = dev.savepoint.postgres.internal.PgTools.find(tool, 15);
      Files.writeString(wrapper, "#!/bin/sh\nenv >> " + log + "\nexec " + real + " \"$@\"\n");
      wrapper.toFile().setExecutable(true);
    }
    Map<String, String> env = Map.of("SAVEPOINT_PG_BIN", bin.toString(), "APP_BACKUP_PASSPHRASE", canary,
        "AWS_SECRET_ACCESS_KEY", canary);
    Path repo = tmp.resolve("repo");
    CliProcess.Result backup = CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "p", "--source",
        pg.url(db), "--pg-format", "parallel", "--encrypt-passphrase-env", "APP_BACKUP_PASSPHRASE");
    assertThat(backup.exit()).as(backup.err()).isZero();
    CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "p", "--to",
        pg.url("env_restored_" + System.nanoTime()), "--passphrase-env", "APP_BACKUP_PASSPHRASE");
    assertThat(restore.exit()).as(restore.err()).isZero();
    String seen = Files.readString(log);
    assertThat(seen).contains("PGHOST=", "PGDATABASE=").doesNotContain(canary).doesNotContain("AWS_SECRET_ACCESS_KEY");
  }

  /**
   * A writer without keys plants a newer, unencrypted backup of an encrypted plan whose plain dump runs a shell
   * command in psql. Restore, drill and recover with the plan's passphrase trust only what it signs; given the planted
   * backup by id they refuse it (exit 3) before decoding a byte; and even accepted as insecure, psql reads it
   * restricted, so the command never runs.
   */
  @Test
  void aPlantedPlainBackupOfAnEncryptedPlanRunsNothingAndIsRefusedByName() throws Exception {
    String db = database();
    Path repo = tmp.resolve("repo");
    Map<String, String> env = Map.of("PASS", "the plan's passphrase, which the attacker lacks");
    CliProcess.Result genuine = CliProcess.run(env, "backup", "--repo", "file:" + repo, "--plan", "p", "--source",
        pg.url(db), "--pg-format", "plain", "--encrypt-passphrase-env", "PASS");
    assertThat(genuine.exit()).as(genuine.err()).isZero();

    Path attacker = tmp.resolve("attacker");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + attacker, "--plan", "p",
        "--source", pg.url(db), "--pg-format", "plain", "--compress", "none").exit()).isZero();
    Path marker = tmp.resolve("pwned");
    String dump = Files.readString(only(attacker, "database.sql"));
    forge(attacker, "database.sql", dump.replaceFirst("(?m)^SET ", java.util.regex.Matcher.quoteReplacement(
        "\\! touch " + marker + "\nSET ")).getBytes(StandardCharsets.UTF_8));
    Path planted;
    try (Stream<Path> ids = Files.list(attacker.resolve("p"))) {
      planted = ids.filter(Files::isDirectory).findFirst().orElseThrow();
    }
    String plantedId = planted.getFileName().toString();
    try (Stream<Path> files = Files.walk(planted)) {
      for (Path f : files.toList()) {
        Path to = repo.resolve("p").resolve(attacker.resolve("p").relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(to);
        } else {
          Files.copy(f, to);
        }
      }
    }

    // Without any key and without --insecure-unsigned, the commands that trust a backup refuse to start.
    CliProcess.Result noKey = CliProcess.run("restore", "--repo", "file:" + repo, "--plan", "p", "--to",
        pg.url("hostile_nokey_" + System.nanoTime()));
    assertThat(noKey.exit()).as(noKey.err()).isEqualTo(Main.USAGE);
    assertThat(noKey.err()).contains("signs its backups", "--passphrase-env");

    // With the passphrase, 'latest' is the newest backup the key signed; the planted one is named and refused.
    String restored = "hostile_latest_" + System.nanoTime();
    CliProcess.Result latest = CliProcess.run(env, "restore", "--repo", "file:" + repo, "--plan", "p", "--to",
        pg.url(restored), "--passphrase-env", "PASS");
    assertThat(latest.exit()).as(latest.err()).isZero();
    assertThat(latest.out()).doesNotContain(plantedId);
    assertThat(latest.err()).contains("passed over the newer backup " + plantedId, "is not signed");
    assertThat(pg.single(restored, "SELECT count(*) FROM t")).isEqualTo("100");
    String byId = "hostile_byid_" + System.nanoTime();
    CliProcess.Result refused = CliProcess.run(env, "restore", "--repo", "file:" + repo, "--plan", "p", plantedId,
        "--to", pg.url(byId), "--passphrase-env", "PASS");
    assertThat(refused.exit()).as(refused.err()).isEqualTo(Main.INTEGRITY);
    assertThat(refused.err()).contains(plantedId).contains("not signed");
    assertThat(pg.databaseExists(byId)).isFalse();
    // Over the live database: refused before the safety backup, which a downgrade would have written in the clear.
    CliProcess.Result overLive = CliProcess.run(env, "restore", "--repo", "file:" + repo, "--plan", "p", plantedId,
        "--to", pg.url(db), "--passphrase-env", "PASS");
    assertThat(overLive.exit()).as(overLive.err()).isEqualTo(Main.INTEGRITY);
    assertThat(repo.resolve("p-safety")).doesNotExist();
    assertThat(pg.single(db, "SELECT count(*) FROM t")).isEqualTo("100");

    CliProcess.Result drill = CliProcess.run(env, "drill", "--repo", "file:" + repo, "--plan", "p", "--scratch",
        pg.url("postgres"), "--passphrase-env", "PASS");
    assertThat(drill.exit()).as(drill.err()).isZero();
    assertThat(drill.out()).doesNotContain(plantedId);

    Path recovery = Files.writeString(tmp.resolve("recovery.yaml"), """
        name: hostile
        repository: file:%s
        steps:
          - name: restore-database
            restore: {plan: p, to: "%s", scope: database}
        """.formatted(repo, pg.url("hostile_recovered_" + System.nanoTime())));
    CliProcess.Result recover = CliProcess.run(env, "recover", "--config", recovery.toString(), "--passphrase-env",
        "PASS");
    assertThat(recover.exit()).as(recover.err() + recover.out()).isZero();
    assertThat(recover.out()).doesNotContain(plantedId);

    // Accepted explicitly as insecure, the planted dump still cannot run its command: psql reads it restricted.
    String insecure = "hostile_insecure_" + System.nanoTime();
    CliProcess.Result restricted = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + repo,
        "--plan", "p", plantedId, "--to", pg.url(insecure));
    assertThat(restricted.err()).contains("is not authenticated (--insecure-unsigned)");
    assertThat(restricted.exit()).as(restricted.err()).isNotZero();
    assertThat(restricted.err()).contains("backslash commands are restricted");
    assertThat(pg.databaseExists(insecure)).isFalse();
    assertThat(marker).as("psql ran the planted shell command").doesNotExist();
  }
}
