package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  String repo() {
    return "file:" + tmp.resolve("repo");
  }

  Path randomFile(String name, int size, long seed) throws Exception {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return Files.write(tmp.resolve(name), b);
  }

  @Test
  void backupListVerifyRestoreDirectory() throws Exception {
    Path src = tmp.resolve("uploads");
    Files.createDirectories(src.resolve("maps"));
    Files.copy(randomFile("a.bin", 200_000, 1), src.resolve("maps/a.bin"));
    Files.writeString(src.resolve("readme.txt"), "hello");

    CliProcess.Result backup = CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "--source",
        "file:" + src, "--compress", "gzip", "--json");
    assertThat(backup.exit()).as(backup.err()).isZero();
    JsonNode summary = JSON.readTree(backup.out());
    String id = summary.get("id").asText();
    assertThat(summary.get("sourceType").asText()).isEqualTo("directory");

    CliProcess.Result list = CliProcess.run("list", "--repo", repo(), "--json");
    assertThat(list.exit()).as(list.err()).isZero();
    JsonNode rows = JSON.readTree(list.out());
    assertThat(rows).hasSize(1);
    assertThat(rows.get(0).get("id").asText()).isEqualTo(id);
    assertThat(rows.get(0).get("drills")).isEmpty();

    CliProcess.Result verify = CliProcess.run("verify", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "latest", "--full", "--json");
    assertThat(verify.exit()).as(verify.err()).isZero();
    assertThat(JSON.readTree(verify.out()).get("passed").asBoolean()).isTrue();

    Path dest = tmp.resolve("restored");
    CliProcess.Result restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", id, "--to",
        "file:" + dest, "--debug");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(restore.err()).as("--debug says what each stage does").contains("DEBUG", "reading artifact 'files.tar'",
        "through [gzip], verified in 1 chunks");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "--source", "file:" + src, "--debug")
        .err()).contains("artifact 'files.tar' stored as uploads/", "raw bytes ->");
    assertThat(dest.resolve("maps/a.bin")).hasSameBinaryContentAs(src.resolve("maps/a.bin"));
    assertThat(dest.resolve("readme.txt")).hasContent("hello");
  }

  @Test
  void flippedByteAndTruncationMakeVerifyExit3NamingTheArtifact() throws Exception {
    Path file = randomFile("dump.sql", 500_000, 2);
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "db", "--source", "file:" + file).exit()).isZero();
    Path stored;
    try (Stream<Path> walk = Files.walk(tmp.resolve("repo/db"))) {
      stored = walk.filter(p -> p.getFileName().toString().equals("dump.sql.zst")).findFirst().orElseThrow();
    }
    byte[] original = Files.readAllBytes(stored);
    byte[] flipped = original.clone();
    flipped[flipped.length / 3] ^= 0x01;
    Files.write(stored, flipped);
    CliProcess.Result verify = CliProcess.run("verify", "--insecure-unsigned", "--repo", repo(), "--plan", "db");
    assertThat(verify.exit()).isEqualTo(3);
    assertThat(verify.errors()).hasSize(1);
    assertThat(verify.err()).contains("dump.sql", "SHA-256 mismatch", "expected", "actual");

    Files.write(stored, java.util.Arrays.copyOf(original, original.length - 1000));
    verify = CliProcess.run("verify", "--insecure-unsigned", "--repo", repo(), "--plan", "db");
    assertThat(verify.exit()).isEqualTo(3);
    assertThat(verify.err()).contains("dump.sql", "size mismatch");

    Path out = tmp.resolve("out.sql");
    CliProcess.Result restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "db", "--to", "file:" + out);
    assertThat(restore.exit()).isEqualTo(3);
    assertThat(out).doesNotExist();

    // A missing artifact is the same class in restore as in verify: the backup is damaged (exit 3).
    Files.delete(stored);
    assertThat(CliProcess.run("verify", "--insecure-unsigned", "--repo", repo(), "--plan", "db").exit()).isEqualTo(3);
    restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "db", "--to", "file:" + out);
    assertThat(restore.exit()).as(restore.err()).isEqualTo(3);
    assertThat(out).doesNotExist();
  }

  @Test
  void malformedAndFutureManifestsGiveOneLineErrors() throws Exception {
    Path file = randomFile("f", 1000, 3);
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "p", "--source", "file:" + file).exit()).isZero();
    Path manifest;
    try (Stream<Path> walk = Files.walk(tmp.resolve("repo/p"))) {
      manifest = walk.filter(p -> p.getFileName().toString().equals("manifest.json")).findFirst().orElseThrow();
    }
    String damagedId = manifest.getParent().getFileName().toString();
    Files.writeString(manifest, "{\"formatVersion\": 7, \"id\": \"x\"}");
    // One damaged backup affects only itself: list shows it as damaged and goes on.
    CliProcess.Result list = CliProcess.run("list", "--repo", repo(), "--plan", "p");
    assertThat(list.exit()).as(list.err()).isZero();
    assertThat(list.out()).contains("DAMAGED", "format version 7", "upgrade Savepoint");
    Files.writeString(manifest, "{ truncated");
    JsonNode rows = JSON.readTree(CliProcess.run("list", "--repo", repo(), "--plan", "p", "--json").out());
    assertThat(rows.get(0).get("damaged").asText()).contains("malformed manifest");
    CliProcess.Result restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "p", "--to", "file:" + tmp.resolve("r"));
    assertThat(restore.exit()).isEqualTo(3);
    assertThat(restore.err()).contains("damaged backups were skipped", damagedId);
    assertThat(restore.errors()).hasSize(1);
    CliProcess.Result report = CliProcess.run("report", "--repo", repo());
    assertThat(report.exit()).isEqualTo(3);
    assertThat(report.out()).contains("backup " + damagedId + " is damaged");
    CliProcess.Result quarantine = CliProcess.run("delete", "--repo", repo(), "--plan", "p", damagedId, "--quarantine");
    assertThat(quarantine.exit()).as(quarantine.err()).isZero();
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", repo(), "--json").out())).isEmpty();
    assertThat(tmp.resolve("repo/_quarantine/p/" + damagedId + "/manifest.json")).exists();
  }

  @Test
  void usageAndConfigurationErrorsExit2() throws Exception {
    CliProcess.Result help = CliProcess.run("restore", "--help");
    assertThat(help.exit()).isZero();
    assertThat(help.out()).contains("Usage: savepoint restore", "--plan-only", "--passphrase-env");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo()).exit()).isEqualTo(2);
    CliProcess.Result typo = CliProcess.run("list", "--repo", "file:" + tmp.resolve("typo/repo"));
    assertThat(typo.exit()).isEqualTo(2);
    assertThat(typo.err()).contains("does not exist");
    assertThat(tmp.resolve("typo")).as("reading commands never create a repository").doesNotExist();
    assertThat(CliProcess.run("report", "--repo", "file:" + tmp.resolve("typo/repo")).exit()).isEqualTo(2);
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "p", "--source", "-", "--compress", "none",
        "--level", "5").exit()).isEqualTo(2);
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "p", "--source", "-", "--min-size", "-5").exit())
        .isEqualTo(2);
    assertThat(CliProcess.run("run", "--config", tmp.resolve("missing.yaml").toString()).exit()).isEqualTo(2);
    CliProcess.Result none = CliProcess.run();
    assertThat(none.exit()).isEqualTo(2);
    assertThat(none.err()).contains("Usage: savepoint", "backup", "restore");
    assertThat(CliProcess.run("help", "prune").out()).contains("--keep-within");
    Files.createDirectories(tmp.resolve("repo"));
    CliProcess.Result noPlan = CliProcess.run("list", "--repo", repo(), "--plan", "nope");
    assertThat(noPlan.exit()).isEqualTo(2);
    assertThat(noPlan.err()).contains("no plan 'nope'");
    CliProcess.Result badScheme = CliProcess.run("list", "--repo", "ftp://x");
    assertThat(badScheme.exit()).isEqualTo(2);
    assertThat(badScheme.err()).contains("unsupported repository URI");
    CliProcess.Result badCompress = CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "p", "--source", "-",
        "--compress", "lz4");
    assertThat(badCompress.exit()).isEqualTo(2);
    CliProcess.Result badAt = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "p", "--at", "yesterday",
        "--to", "file:" + tmp.resolve("x"));
    assertThat(badAt.exit()).isEqualTo(2);
    CliProcess.Result missing = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "none", "--to", "file:" + tmp.resolve("x"));
    assertThat(missing.exit()).as("a typo'd plan is a usage error in restore as in list").isEqualTo(2);
    for (String[] command : new String[][] {{"prune", "--keep-last", "1"}, {"cleanup"}}) {
      List<String> args = new java.util.ArrayList<>(List.of(command));
      args.addAll(List.of("--insecure-unsigned", "--repo", repo(), "--plan", "none"));
      CliProcess.Result typoPlan = CliProcess.run(args.toArray(String[]::new));
      assertThat(typoPlan.exit()).as("%s with a typo'd plan: a cron job must not succeed doing nothing", command[0])
          .isEqualTo(2);
      assertThat(typoPlan.err()).contains("has no plan 'none'");
    }
    assertThat(missing.err()).contains("no complete backup of plan 'none'");
  }

  /** As root, a directory restore gives files their recorded owners; --no-same-owner leaves them to the restorer. */
  @Test
  void directoryRestoresKeepOwnersUnlessToldNot() throws Exception {
    if (!dev.savepoint.core.internal.Tar.mayChown()) {
      assertThat(System.getenv("CI")).as("CI must run this test as root").isNotEqualTo("true");
      org.junit.jupiter.api.Assumptions.abort("restoring owners needs root");
    }
    Path uploads = Files.createDirectories(tmp.resolve("uploads"));
    Path map = Files.writeString(uploads.resolve("map.png"), "map");
    dev.savepoint.core.internal.Tar.chown(map, 33, 33);
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "--source",
        "file:" + uploads).exit()).isZero();
    assertThat(CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "--to",
        "file:" + tmp.resolve("kept")).exit()).isZero();
    assertThat(dev.savepoint.core.internal.Tar.owner(tmp.resolve("kept/map.png")).orElseThrow()).containsExactly(33, 33);
    assertThat(CliProcess.run("restore", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "--to",
        "file:" + tmp.resolve("mine"), "--no-same-owner").exit()).isZero();
    assertThat(dev.savepoint.core.internal.Tar.owner(tmp.resolve("mine/map.png")).orElseThrow()).containsExactly(0, 0);
  }

  /** 1 GiB through backup and restore in a JVM limited to 96 MiB of heap: memory does not grow with data. */
  @Test
  void oneGibibyteStreamWithBoundedHeap() throws Exception {
    long size = 1L << 30;
    Process backup = CliProcess.builder("96m", "backup", "--insecure-unsigned", "--repo", repo(), "--plan", "big", "--source", "-",
        "--compress", "zstd", "--level", "1").start();
    MessageDigest sent = MessageDigest.getInstance("SHA-256");
    try (OutputStream stdin = backup.getOutputStream()) {
      byte[] block = new byte[1 << 20];
      Random r = new Random(42);
      for (long written = 0; written < size; written += block.length) {
        // Partly compressible data, like a dump: random bytes with runs.
        r.nextBytes(block);
        java.util.Arrays.fill(block, 0, block.length / 2, (byte) 'x');
        stdin.write(block);
        sent.update(block);
      }
    }
    CliProcess.Result b = CliProcess.finish(backup);
    assertThat(b.exit()).as(b.err()).isZero();

    CliProcess.Digested restore = CliProcess.digestStdout(
        CliProcess.builder("96m", "restore", "--insecure-unsigned", "--repo", repo(), "--plan", "big", "--to", "-").start());
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(restore.bytes()).isEqualTo(size);
    assertThat(HexFormat.of().formatHex(restore.sha256())).isEqualTo(HexFormat.of().formatHex(sent.digest()));
  }

  /** SIGKILL mid-upload: nothing listed, the next backup succeeds, cleanup removes the remains. */
  @Test
  void killedBackupLeavesNothingThatListShows() throws Exception {
    Process backup = CliProcess.builder("96m", "backup", "--insecure-unsigned", "--repo", repo(), "--plan", "crash", "--source", "-",
        "--compress", "gzip", "--level", "1").start();
    OutputStream stdin = backup.getOutputStream();
    byte[] block = new byte[1 << 20];
    new Random(7).nextBytes(block);
    for (int i = 0; i < 40; i++) {
      stdin.write(block);
    }
    stdin.flush();
    // Wait until bytes have reached the repository, so the kill really is mid-upload.
    Path temp = tmp.resolve("repo/.savepoint-tmp");
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline && dirSize(temp) < 1_000_000) {
      stdin.write(block);
      stdin.flush();
    }
    assertThat(dirSize(temp)).isGreaterThan(1_000_000);
    backup.destroyForcibly(); // SIGKILL on Linux
    backup.waitFor();

    CliProcess.Result list = CliProcess.run("list", "--repo", repo(), "--json");
    assertThat(list.exit()).as(list.err()).isZero();
    assertThat(JSON.readTree(list.out())).isEmpty();

    Path file = randomFile("next", 10_000, 8);
    CliProcess.Result next = CliProcess.run("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "crash", "--source", "file:" + file);
    assertThat(next.exit()).as(next.err()).isZero();
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", repo(), "--json").out())).hasSize(1);

    CliProcess.Result cleanup = CliProcess.run("cleanup", "--repo", repo(), "--min-age", "PT0S");
    assertThat(cleanup.exit()).as(cleanup.err()).isZero();
    assertThat(dirSize(temp)).isZero();
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", repo(), "--json").out())).hasSize(1);
  }

  static long dirSize(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> list = files.toList();
      long total = 0;
      for (Path p : list) {
        try {
          total += Files.size(p);
        } catch (java.nio.file.NoSuchFileException gone) {
          // Renamed into place meanwhile.
        }
      }
      return total;
    }
  }
}
