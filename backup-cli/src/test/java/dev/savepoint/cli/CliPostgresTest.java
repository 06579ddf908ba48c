package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class CliPostgresTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  @Test
  void backupRestoreDrillAndListThroughTheCli() throws Exception {
    String db = pg.createDatabase("cli_trpg");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    String repo = "file:" + tmp.resolve("repo");
    CliProcess.Result backup = CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--tier", "tier1",
        "--source", pg.url(db), "--compress", "gzip", "--min-size", "1000");
    assertThat(backup.exit()).as(backup.err()).isZero();

    String restored = "cli_restored_" + System.nanoTime();
    CliProcess.Result restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--to", pg.url(restored));
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(restore.err()).contains("tablesChecked");
    try (Connection a = pg.connect(db); Connection b = pg.connect(restored)) {
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(TrpgDatabase.tableDigests(a));
    }

    // Restoring over the now non-empty database takes a safety backup first.
    CliProcess.Result again = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--to", pg.url(restored));
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.err()).contains("safetyBackupId");
    JsonNode safety = new ObjectMapper().readTree(CliProcess.run("list", "--repo", repo, "--plan", "trpg-safety", "--json").out());
    assertThat(safety).hasSize(1);

    CliProcess.Result drill = CliProcess.run("drill", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--scratch", pg.url("postgres"));
    assertThat(drill.exit()).as(drill.err()).isZero();
    assertThat(drill.out()).contains("PASSED");
    JsonNode list = new ObjectMapper().readTree(CliProcess.run("list", "--repo", repo, "--plan", "trpg", "--json").out());
    assertThat(list.get(0).get("drills").get(0).get("passed").asBoolean()).isTrue();
    assertThat(list.get(0).get("drills").get(0).get("restoreMillis").asLong()).isPositive();

    // The status page, as a person sees it: rendered by a real browser.
    Path page = tmp.resolve("status.html");
    CliProcess.Result report = CliProcess.run("report", "--repo", repo, "--html", page.toString(), "--max-age", "PT1H");
    assertThat(report.err()).contains("status page written to");
    Path screenshot = tmp.resolve("status.png");
    chromium("--screenshot=" + screenshot, "--window-size=1280,1400", page.toUri().toString());
    assertThat(Files.size(screenshot)).as("a rendered screenshot").isGreaterThan(10_000);
    String dom = chromium("--dump-dom", page.toUri().toString());
    assertThat(dom).contains("Savepoint status", "id=\"plan-trpg\"", "id=\"plan-trpg-safety\"",
        "restore time", "passed, " + list.get(0).get("drills").get(0).get("rowsChecked").asLong() + " rows checked");
    assertThat(dom).containsPattern(
        "data-plan=\"trpg\"><td><a href=\"#plan-trpg\">trpg</a></td><td class=\"num\">1</td>");
  }

  /** Runs headless Chromium on a page; its stdout. Fails under CI=true (skips elsewhere) when it is missing. */
  static String chromium(String... args) throws Exception {
    String binary = Files.isExecutable(Path.of("/usr/bin/chromium")) ? "/usr/bin/chromium" : "chromium-browser";
    java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(binary, "--headless=new",
        "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=" + Files.createTempDirectory("chromium")));
    command.addAll(java.util.List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (java.io.IOException missing) {
      String why = "headless Chromium is not installed (scripts/setup.sh installs it)";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + "; CI=true, so this is a failure, not a skip", missing);
      }
      org.junit.jupiter.api.Assumptions.abort(why);
      throw missing;
    }
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  @Test
  void twoTierPlansRestoreAsOneDatabaseAtOneTime() throws Exception {
    String db = pg.createDatabase("cli_tiers");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    Path plans = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: tier1
            source: %1$s
            tables: [users, chat_messages, game_sessions]
            crossTierReferences: [game_sessions_campaign_id_fkey]
            repository: file:%2$s
            insecureUnsigned: true
          - name: tier2
            source: %1$s
            tables: [campaigns, ai_generated_content]
            crossTierReferences: [campaigns_owner_id_fkey]
            repository: file:%2$s
            insecureUnsigned: true
        """.formatted(pg.url(db), tmp.resolve("repo")));
    CliProcess.Result run = CliProcess.run("run", "--config", plans.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    String restored = "cli_tiers_restored_" + System.nanoTime();
    CliProcess.Result restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("repo"), "--plan", "tier1",
        "--with-tier", "tier2", "--at", java.time.Instant.now().toString(), "--to", pg.url(restored));
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(restore.err()).contains("restored plans tier1, tier2", "tierSpread", "foreignKeysChecked",
        "emptyTablesInNoTier: [\"public\".\"session_cache\"]");
    try (Connection a = pg.connect(db); Connection b = pg.connect(restored)) {
      java.util.Map<String, String> expected = new java.util.TreeMap<>(TrpgDatabase.tableDigests(a));
      expected.put("public.session_cache", "0:"); // in no tier: it comes back empty
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(expected);
    }
    CliProcess.Result wrongTarget = CliProcess.run("restore", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("repo"), "--plan",
        "tier1", "--with-tier", "tier2", "--to", "file:" + tmp.resolve("out"));
    assertThat(wrongTarget.exit()).isEqualTo(Main.USAGE);
    assertThat(wrongTarget.err()).contains("--to must be postgresql://");
  }

  @Test
  void parallelFormatBackupAndParallelRestore() throws Exception {
    String db = pg.createDatabase("cli_parallel");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    String repo = "file:" + tmp.resolve("repo");
    Map<String, String> env = Map.of("TRPG_PASSPHRASE", "parallel and encrypted");
    CliProcess.Result backup = CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--source", pg.url(db),
        "--pg-format", "parallel", "--jobs", "3", "--encrypt-passphrase-env", "TRPG_PASSPHRASE", "--json");
    assertThat(backup.exit()).as(backup.err()).isZero();
    long tables;
    try (Connection c = pg.connect(db); var r = c.createStatement().executeQuery(
        "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")) {
      r.next();
      tables = r.getLong(1);
    }
    assertThat(new ObjectMapper().readTree(backup.out()).get("artifacts").asLong()).as("schema + one per table")
        .isEqualTo(tables + 1);
    String restored = "cli_parallel_restored_" + System.nanoTime();
    CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--to",
        pg.url(restored), "--jobs", "2", "--passphrase-env", "TRPG_PASSPHRASE");
    assertThat(restore.exit()).as(restore.err()).isZero();
    try (Connection a = pg.connect(db); Connection b = pg.connect(restored)) {
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(TrpgDatabase.tableDigests(a));
    }
    // Or download it, decoded and verified, for loading by hand (README, "Recovery without Savepoint").
    Path files = tmp.resolve("download");
    CliProcess.Result download = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--to",
        "file:" + files, "--passphrase-env", "TRPG_PASSPHRASE");
    assertThat(download.exit()).as(download.err()).isZero();
    assertThat(files.resolve("schema.dump")).isRegularFile();
    try (var data = java.nio.file.Files.list(files.resolve("data"))) {
      assertThat(data.map(f -> f.getFileName().toString())).hasSize((int) tables).allMatch(n -> n.endsWith(".sql"))
          .anyMatch(n -> n.endsWith("-public.users.sql"));
    }
    CliProcess.Result bad = CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--source", pg.url(db),
        "--pg-format", "directory");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.errors()).containsExactly("savepoint: unknown PostgreSQL format 'directory'; use auto, parallel, plain or custom");
  }

  @Test
  void unreachableDatabaseIsOneLineAndExit1() throws Exception {
    CliProcess.Result r = CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("repo"), "--plan", "x",
        "--source", "postgresql://postgres:secret-canary@127.0.0.1:1/app");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.errors()).hasSize(1);
    assertThat(r.err()).contains("cannot connect to postgresql://postgres@127.0.0.1:1/app").doesNotContain("secret-canary");
    assertThat(CliProcess.run("list", "--repo", "file:" + tmp.resolve("repo"), "--json").out().strip()).isEqualTo("[ ]");
  }

  /** What a stored object reveals to someone who can read the bucket: its bytes, zstd-decompressed where possible. */
  static String readable(Path file) throws Exception {
    byte[] raw = java.nio.file.Files.readAllBytes(file);
    try (var in = new com.github.luben.zstd.ZstdInputStream(new java.io.ByteArrayInputStream(raw))) {
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
    } catch (java.io.IOException notZstd) {
      return new String(raw, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void theSafetyBackupOfAnEncryptedPlanIsEncryptedLikeThePlan() throws Exception {
    String db = pg.createDatabase("cli_safety");
    try (Connection c = pg.connect(db); var s = c.createStatement()) {
      s.execute("CREATE TABLE customers (id int PRIMARY KEY, email text)");
      s.execute("INSERT INTO customers VALUES (1, 'first@example.com')");
    }
    String repo = "file:" + tmp.resolve("repo");
    Map<String, String> env = Map.of("SHOP_PASSPHRASE", "correct horse");
    assertThat(CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", repo, "--plan", "shop", "--source", pg.url(db),
        "--pg-format", "parallel", "--encrypt-passphrase-env", "SHOP_PASSPHRASE").exit()).isZero();
    String canary = "canary-" + System.nanoTime() + "@example.com";
    try (Connection c = pg.connect(db); var s = c.createStatement()) {
      s.execute("INSERT INTO customers VALUES (2, '" + canary + "')");
    }
    CliProcess.Result wrongKey = CliProcess.run(Map.of("SHOP_PASSPHRASE", "wrong"), "restore", "--insecure-unsigned", "--repo", repo,
        "--plan", "shop", "--to", pg.url(db), "--passphrase-env", "SHOP_PASSPHRASE");
    assertThat(wrongKey.exit()).isEqualTo(Main.USAGE);
    assertThat(tmp.resolve("repo").resolve("shop-safety")).as("no safety backup for a restore that cannot read its backup")
        .doesNotExist();
    // A wrong key in a drill is the operator's mistake: exit 2, and no FAILED drill report is stored.
    CliProcess.Result wrongDrill = CliProcess.run(Map.of("SHOP_PASSPHRASE", "wrong"), "drill", "--insecure-unsigned", "--repo", repo, "--plan",
        "shop", "--scratch", pg.url("postgres"), "--passphrase-env", "SHOP_PASSPHRASE");
    assertThat(wrongDrill.exit()).as(wrongDrill.err()).isEqualTo(Main.USAGE);
    try (var files = java.nio.file.Files.walk(tmp.resolve("repo"))) {
      assertThat(files.map(Path::toString)).noneMatch(f -> f.contains("/drills/"));
    }
    CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "shop", "--to", pg.url(db),
        "--passphrase-env", "SHOP_PASSPHRASE");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(restore.err()).contains("  safetyBackupId: ").doesNotContain("checksPassed");
    try (var files = java.nio.file.Files.walk(tmp.resolve("repo"))) {
      List<Path> stored = files.filter(java.nio.file.Files::isRegularFile).toList();
      assertThat(stored).anyMatch(p -> p.toString().contains("shop-safety") && p.toString().endsWith(".gpg"));
      for (Path p : stored) {
        assertThat(readable(p)).as(p.toString()).doesNotContain(canary);
      }
    }
    // The safety backup restores with the plan's key, canary and all.
    String back = "cli_safety_back_" + System.nanoTime();
    CliProcess.Result fromSafety = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "shop-safety", "--to",
        pg.url(back), "--passphrase-env", "SHOP_PASSPHRASE");
    assertThat(fromSafety.exit()).as(fromSafety.err()).isZero();
    try (Connection c = pg.connect(back); var r = c.createStatement().executeQuery("SELECT email FROM customers WHERE id = 2")) {
      assertThat(r.next()).isTrue();
      assertThat(r.getString(1)).isEqualTo(canary);
    }
  }
}
