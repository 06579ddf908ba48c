package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} at seeded random moments of the CLI's backups (plain, custom and parallel formats into a file
 * repository, a bucket into S3), restores over a live database, into a directory and into a bucket, and prune. After every kill: {@code list} shows only
 * complete backups and each passes {@code verify --full}; {@code cleanup} leaves nothing no manifest records; the
 * live database is exactly as before or exactly the backup; a directory is complete or absent; and the next
 * operation succeeds. CI runs a small slice ({@code -Dsavepoint.campaign.kills}, default 2 per operation;
 * {@code -Dsavepoint.campaign.seed}); {@code scripts/campaign.sh} runs a long one. The figures are printed.
 */
@Tag("campaign")
class KillCampaignTest {
  private static final int KILLS = Integer.getInteger("savepoint.campaign.kills", 2);
  private static final long SEED = Long.getLong("savepoint.campaign.seed", 15);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, int[]> FIGURES = new LinkedHashMap<>(); // operation -> kills, finished first

  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  private final Random random = new Random(SEED);
  private final Set<String> verified = new HashSet<>();

  private String repo() {
    return "file:" + tmp.resolve("repo");
  }

  /** Runs the command, measuring how long it takes: the range kill moments are drawn from. */
  private long timed(String... args) throws Exception {
    return timed(Map.of(), args);
  }

  private long timed(Map<String, String> env, String... args) throws Exception {
    long start = System.nanoTime();
    CliProcess.Result r = CliProcess.run(env, args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    return Math.max(1, (System.nanoTime() - start) / 1_000_000);
  }

  /** Starts the command and kills it (SIGKILL) after a random part of {@code millis}. */
  private void killDuring(String operation, long millis, String... args) throws Exception {
    killDuring(operation, millis, Map.of(), args);
  }

  private void killDuring(String operation, long millis, Map<String, String> env, String... args) throws Exception {
    ProcessBuilder pb = CliProcess.builder("256m", args).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().putAll(env);
    Process p = pb.start();
    Thread.sleep((long) (random.nextDouble() * millis));
    boolean finishedFirst = !p.isAlive();
    p.destroyForcibly();
    p.waitFor();
    int[] figures = FIGURES.computeIfAbsent(operation, k -> new int[2]);
    figures[0]++;
    figures[1] += finishedFirst ? 1 : 0;
  }

  /** list shows only complete backups, each verifies in full, and cleanup leaves only what manifests record. */
  private void assertRepositoryHoldsOnlyCompleteBackups(String... plans) throws Exception {
    assertRepositoryHoldsOnlyCompleteBackups(repo(), Map.of(), plan -> {
      Path dir = tmp.resolve("repo").resolve(plan);
      if (!Files.isDirectory(dir)) {
        return List.of();
      }
      try (Stream<Path> children = Files.list(dir)) {
        return children.map(p -> p.getFileName().toString()).toList();
      }
    }, plans);
    try (Stream<Path> temp = Files.list(tmp.resolve("repo/.savepoint-tmp"))) {
      assertThat(temp.toList()).as("temporary files after cleanup").isEmpty();
    }
  }

  /** What a plan's folder in the repository holds: backup ids (and anything else found there). */
  @FunctionalInterface
  interface Stored {
    List<String> backupFolders(String plan) throws Exception;
  }

  private void assertRepositoryHoldsOnlyCompleteBackups(String repo, Map<String, String> env, Stored stored,
      String... plans) throws Exception {
    CliProcess.Result cleanup = CliProcess.run(env, "cleanup", "--repo", repo, "--min-age", "PT0S");
    assertThat(cleanup.exit()).as(cleanup.err()).isZero();
    for (String plan : plans) {
      CliProcess.Result list = CliProcess.run(env, "list", "--repo", repo, "--json");
      assertThat(list.exit()).as(list.err()).isZero();
      Set<String> ids = new HashSet<>();
      for (JsonNode b : JSON.readTree(list.out())) {
        assertThat(b.has("damaged")).as(b.toString()).isFalse();
        if (b.get("plan").asText().equals(plan)) {
          ids.add(b.get("id").asText());
        }
      }
      for (String id : ids) {
        if (verified.add(repo + plan + "/" + id)) {
          CliProcess.Result v = CliProcess.run(env, "verify", "--insecure-unsigned", "--repo", repo, "--plan", plan, id, "--full");
          assertThat(v.exit()).as("verify --full " + plan + "/" + id + ": " + v.err()).isZero();
        }
      }
      assertThat(stored.backupFolders(plan)).as("what " + plan + " holds after cleanup").allMatch(ids::contains);
    }
  }

  @Test
  void killedBackupsInEveryFormatLeaveOnlyCompleteBackups() throws Exception {
    String db = pg.createDatabase("campaign_backup");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 6);
    }
    for (String format : List.of("plain", "custom", "parallel")) {
      String plan = "db-" + format;
      String[] backup = {"backup", "--insecure-unsigned", "--repo", repo(), "--plan", plan, "--source", pg.url(db), "--pg-format", format};
      long took = timed(backup);
      for (int i = 0; i < KILLS; i++) {
        killDuring("backup (" + format + ")", took, backup);
        assertRepositoryHoldsOnlyCompleteBackups(plan);
      }
      timed(backup); // the next backup succeeds
      assertRepositoryHoldsOnlyCompleteBackups(plan);
    }
  }

  @Test
  void killedRestoresLeaveTheLiveDatabaseAsItWasOrAsTheBackup() throws Exception {
    String db = pg.createDatabase("campaign_restore");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 6);
    }
    long users = users(db);
    timed("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "db", "--source", pg.url(db));
    String[] restore = {"restore", "--insecure-unsigned", "--repo", repo(), "--plan", "db", "--to", pg.url(db)};
    pg.execute(db, "CREATE TABLE written_after_the_backup (id int)");
    long took = timed(restore);
    int before = 0;
    int restored = 0;
    for (int i = 0; i < KILLS; i++) {
      pg.execute(db, "CREATE TABLE IF NOT EXISTS written_after_the_backup (id int)");
      killDuring("restore over a live database", took, restore);
      assertThat(pg.databaseExists(db)).as("the database exists under its name after a kill").isTrue();
      assertThat(users(db)).as("users: the same rows either way, never a partial load").isEqualTo(users);
      if (tableExists(db, "written_after_the_backup")) {
        before++;
      } else {
        restored++;
      }
      assertRepositoryHoldsOnlyCompleteBackups("db", "db-safety");
    }
    // A killed client's server session ends only when the server notices (its statement may run on): until then it
    // holds the lease of its scratch database, which cleanup rightly keeps. Wait for those sessions to end.
    java.time.Instant sessionsEnd = java.time.Instant.now().plusSeconds(60);
    while (count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") > 0
        && java.time.Instant.now().isBefore(sessionsEnd)) {
      Thread.sleep(200);
    }
    pg.execute("postgres", "CREATE DATABASE " + db + "_sp1234abcd"); // as a kill between load and swap leaves it
    CliProcess.Result listed = CliProcess.run("cleanup", "--repo", repo(), "--to", pg.url(db), "--dry-run");
    assertThat(listed.exit()).as(listed.err()).isZero();
    assertThat(listed.out()).containsPattern("would drop scratch database " + db + "_sp1234abcd \\([0-9.]+ [KM]i?B\\)");
    CliProcess.Result dropped = CliProcess.run("cleanup", "--repo", repo(), "--to", pg.url(db));
    assertThat(dropped.exit()).as(dropped.err()).isZero();
    assertThat(dropped.out().lines().filter(l -> l.startsWith("dropped scratch database")).count())
        .as(listed.out()).isEqualTo(listed.out().lines().filter(l -> l.startsWith("would drop scratch")).count());
    assertThat(count("SELECT count(*) FROM pg_database WHERE datname ~ '^" + db + "_sp[0-9a-f]+$'"))
        .as("scratch databases left by killed restores, after cleanup --to").isZero();
    timed(restore); // the next restore succeeds
    assertThat(users(db)).isEqualTo(users);
    assertThat(count("SELECT count(*) FROM pg_database WHERE datname ~ '^" + db + "_sp[0-9a-f]+$'"))
        .as("scratch databases left by killed restores").isZero();
    System.out.printf("restore kills: %d left the database as it was, %d as the backup%n", before, restored);
  }

  @Test
  void killedDirectoryRestoresAndPrunesLeaveNothingHalfDone() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("uploads"));
    Random content = new Random(SEED);
    StringBuilder text = new StringBuilder();
    for (int f = 0; f < 40; f++) {
      text.setLength(0);
      while (text.length() < 600_000) {
        text.append(Long.toString(content.nextLong(), 36)).append(content.nextInt(9) == 0 ? '\n' : ' ');
      }
      Files.writeString(src.resolve("image-" + f + ".txt"), text);
    }
    timed("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "--source", "file:" + src);
    Path out = tmp.resolve("out/uploads");
    String[] restore = {"restore", "--insecure-unsigned", "--repo", repo(), "--plan", "uploads", "--to", "file:" + out, "--replace"};
    long took = timed(restore);
    for (int i = 0; i < KILLS; i++) {
      killDuring("restore into a directory", took, restore);
      if (Files.exists(out)) {
        assertSameFiles(src, out);
      } else {
        try (Stream<Path> left = Files.list(out.getParent())) {
          assertThat(left.map(p -> p.getFileName().toString()).toList()).as("killed between the renames: the old "
              + "data waits beside it to be put back").anyMatch(n -> n.startsWith(".uploads.savepoint-old-"));
        }
      }
    }
    timed(restore); // the next restore succeeds and removes what killed ones left
    assertSameFiles(src, out);
    try (Stream<Path> left = Files.list(out.getParent())) {
      // What each replacing restore replaced stays beside it, whole (here: earlier restores of the same backup).
      for (Path p : left.toList()) {
        if (!p.getFileName().toString().equals("uploads")) {
          assertThat(p.getFileName().toString()).startsWith("uploads.replaced-");
          assertSameFiles(src, p);
        }
      }
    }

    for (int b = 0; b < 3; b++) {
      timed("backup", "--insecure-unsigned", "--repo", repo(), "--plan", "prunable", "--source", "file:" + src.resolve("image-" + b + ".txt"));
    }
    String[] prune = {"prune", "--repo", repo(), "--plan", "prunable", "--keep-last", "1", "--force"};
    for (int i = 0; i < KILLS; i++) {
      killDuring("prune", 1500, prune);
      assertRepositoryHoldsOnlyCompleteBackups("prunable", "uploads");
    }
    timed(prune);
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", repo(), "--plan", "prunable", "--json").out())).hasSize(1);
  }

  @Test
  void killedBackupsToS3AndRestoresIntoABucketLeaveNothingHalfDone() throws Exception {
    dev.savepoint.testkit.TestS3Server server = dev.savepoint.testkit.TestS3Server.shared();
    software.amazon.awssdk.services.s3.S3Client s3 = dev.savepoint.s3.S3Store.client(server.endpoint(),
        server.region(), server.accessKey(), server.secretKey());
    Map<String, String> env = Map.of("AWS_ACCESS_KEY_ID", server.accessKey(), "AWS_SECRET_ACCESS_KEY",
        server.secretKey(), "AWS_EC2_METADATA_DISABLED", "true");
    String query = "?region=us-east-1&pathStyle=true&endpoint=" + server.endpoint();
    String repoBucket = server.createBucket("campaign-repo");
    String repo = "s3://" + repoBucket + "/backups" + query;
    Stored stored = plan -> s3.listObjectsV2Paginator(r -> r.bucket(repoBucket).prefix("backups/" + plan + "/"))
        .contents().stream().map(o -> o.key().split("/")[2]).distinct().toList();
    String app = server.createBucket("campaign-app");
    Random content = new Random(SEED);
    for (int i = 0; i < 24; i++) {
      byte[] b = new byte[512 * 1024];
      content.nextBytes(b);
      String key = "uploads/image-" + i + ".png";
      s3.putObject(r -> r.bucket(app).key(key), software.amazon.awssdk.core.sync.RequestBody.fromBytes(b));
    }
    String[] backup = {"backup", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--source", "s3://" + app + "/uploads" + query};
    long took = timed(env, backup);
    for (int i = 0; i < KILLS; i++) {
      killDuring("backup of a bucket into S3", took, env, backup);
      assertRepositoryHoldsOnlyCompleteBackups(repo, env, stored, "uploads");
    }
    timed(env, backup);

    // Restores into another bucket: objects land one by one, each whole (a put is atomic), and the next restore
    // completes the set.
    String target = server.createBucket("campaign-restored");
    String[] restore = {"restore", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--to", "s3://" + target + "/uploads" + query};
    took = timed(env, restore);
    for (int i = 0; i < KILLS; i++) {
      s3.listObjectsV2Paginator(r -> r.bucket(target)).contents().forEach(o -> s3.deleteObject(r -> r.bucket(target)
          .key(o.key())));
      killDuring("restore into a bucket", took, env, restore);
      for (var o : s3.listObjectsV2Paginator(r -> r.bucket(target)).contents()) {
        byte[] got = s3.getObjectAsBytes(r -> r.bucket(app).key(o.key())).asByteArray();
        assertThat(s3.getObjectAsBytes(r -> r.bucket(target).key(o.key())).asByteArray()).as(o.key() + " is whole")
            .isEqualTo(got);
      }
    }
    timed(env, restore);
    assertThat(s3.listObjectsV2Paginator(r -> r.bucket(target)).contents().stream().map(o -> o.key()).toList())
        .containsExactlyInAnyOrderElementsOf(s3.listObjectsV2Paginator(r -> r.bucket(app)).contents().stream()
            .map(o -> o.key()).toList());
  }

  /**
   * Issue 36: {@code recover --at T} killed with SIGKILL at a random moment of each step (once the run's own report
   * says the step runs, a random part of the step's duration in a clean run later), then resumed as its report says —
   * while the resume (or a fresh run) holds the lease, a second recovery started beside it refuses. Every time the platform ends wholly at T (database, uploads and configuration of the backups
   * before T, none of those after it) with the writers running. Figures: which step each kill landed in.
   */
  @Test
  void killedRecoveriesResumeToThePlatformWhollyAtT() throws Exception {
    String db = pg.createDatabase("campaign_recover");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    long usersAtT = users(db);
    Path uploads = Files.createDirectories(tmp.resolve("uploads"));
    Files.writeString(uploads.resolve("map.png"), "the dungeon map");
    Files.writeString(uploads.resolve("notes.txt"), "session notes");
    Path uploadsAtT = tmp.resolve("uploads-at-t");
    copyFiles(uploads, uploadsAtT);
    Path env = tmp.resolve("app.env");
    String repo = "file:" + tmp.resolve("recover-repo");
    timed("backup", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--source", pg.url(db));
    timed("backup", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--source", "file:" + uploads);
    timed(Map.of("APP_REGION", "tokyo"), "backup", "--insecure-unsigned", "--repo", repo, "--plan", "config",
        "--source", "env:APP_*");
    Thread.sleep(1100);
    String at = java.time.Instant.now().toString();
    Thread.sleep(1100);
    // After T: backups a recovery as of T must not use.
    pg.execute(db, "CREATE TABLE after_t (id int)");
    Files.writeString(uploads.resolve("later.png"), "after T");
    timed("backup", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--source", pg.url(db));
    timed("backup", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--source", "file:" + uploads);
    timed(Map.of("APP_REGION", "osaka"), "backup", "--insecure-unsigned", "--repo", repo, "--plan", "config",
        "--source", "env:APP_*");

    Path writers = tmp.resolve("writers");
    Path hold = tmp.resolve("hold");
    Path file = Files.writeString(tmp.resolve("campaign.yaml"), """
        name: campaign
        repository: %1$s
        steps:
          - name: stop-writers
            command: [sh, -c, "echo stopped > %2$s"]
          - name: restore-database
            restore: {plan: db, to: "%3$s", scope: database}
          - name: restore-uploads
            restore: {plan: uploads, to: "file:%4$s"}
          - name: restore-config
            restore: {plan: config, to: "envfile:%5$s"}
          - name: check-users
            check: {database: "%3$s", sql: "SELECT count(*) > 0 FROM users", expect: "t"}
          - name: hold
            command: [sh, -c, "while [ -f %6$s ]; do sleep 0.1; done"]
          - name: start-writers
            command: [sh, -c, "echo running > %2$s"]
        """.formatted(repo, writers, pg.url(db), uploads, env, hold));
    String[] recover = {"recover", "--insecure-unsigned", "--config", file.toString(), "--at", at, "--json"};
    Path reports = tmp.resolve("recover-repo/_savepoint/recoveries");

    // A clean run measures when each step runs, counted from the process start.
    damage(db, uploads, env, writers);
    long launched = System.currentTimeMillis();
    CliProcess.Result clean = CliProcess.run(recover);
    assertThat(clean.exit()).as(clean.err()).isZero();
    assertPlatformAtT(db, usersAtT, uploads, uploadsAtT, env, writers);
    List<long[]> windows = new ArrayList<>(); // per step: offset and length in ms, from the clean run
    List<String> steps = new ArrayList<>();
    for (JsonNode step : JSON.readTree(clean.out()).get("steps")) {
      long from = java.time.Instant.parse(step.get("startedAt").asText()).toEpochMilli() - launched;
      long to = java.time.Instant.parse(step.get("finishedAt").asText()).toEpochMilli() - launched;
      windows.add(new long[] {from, Math.max(1, to - from)});
      steps.add(step.get("name").asText());
    }
    int perStep = Math.max(1, KILLS / 2);
    for (int i = 0; i < steps.size(); i++) {
      for (int k = 0; k < perStep; k++) {
        damage(db, uploads, env, writers);
        Set<String> before = reportIds(reports);
        Process first = CliProcess.builder("256m", recover).redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        // Aimed by the report the run writes before each step: once it says step i runs, a random part of the
        // step's clean duration later (a step shorter than a poll may be over by then: where it landed is counted).
        awaitStep(reports, before, steps.get(i), first);
        Thread.sleep((long) (random.nextDouble() * windows.get(i)[1]));
        first.destroyForcibly();
        first.waitFor();
        Set<String> made = reportIds(reports);
        made.removeAll(before);
        String landed = "before any step";
        String[] resume = recover;
        boolean resumeBlocks = true; // it will run the step 'hold' (a resume skips it if the killed run finished it)
        if (!made.isEmpty()) {
          String id = made.iterator().next();
          JsonNode killed = JSON.readTree(reports.resolve(id + ".json").toFile());
          landed = landedIn(killed);
          if (killed.get("outcome").asText().equals("running")) {
            List<String> args = new ArrayList<>(List.of(recover));
            args.addAll(List.of("--resume", id));
            resume = args.toArray(String[]::new);
            for (JsonNode step : killed.get("steps")) {
              resumeBlocks &= !(step.get("name").asText().equals("hold") && step.get("outcome").asText().equals("done"));
            }
          }
        }
        int[] figures = FIGURES.computeIfAbsent("recover --at T, aimed at " + steps.get(i) + ", landed " + landed,
            x -> new int[2]);
        figures[0]++;
        if (!resumeBlocks) { // the resume alone, then a fresh run for the second operator to meet
          CliProcess.Result r = CliProcess.run(resume);
          assertThat(r.exit()).as(r.err()).isZero();
          assertThat(JSON.readTree(r.out()).get("outcome").asText()).isEqualTo("recovered");
          assertPlatformAtT(db, usersAtT, uploads, uploadsAtT, env, writers);
          resume = recover;
        }

        // The resume (or that fresh run), held at its step 'hold', while a second operator starts the same recovery.
        Files.writeString(hold, "");
        Path resumeOut = tmp.resolve("resume.out");
        Process resumed = CliProcess.builder("256m", resume).redirectOutput(resumeOut.toFile())
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        awaitHeld(tmp.resolve("recover-repo/_savepoint/locks/recovery-campaign.lock"), resumed);
        CliProcess.Result second = CliProcess.run(recover);
        assertThat(second.exit()).as("a second recovery beside a running one: " + second.err()).isNotZero();
        assertThat(second.err()).contains("cannot start recovery 'campaign'", "holds");
        Files.delete(hold);
        assertThat(resumed.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(resumed.exitValue()).as(Files.readString(resumeOut)).isZero();
        assertThat(JSON.readTree(resumeOut.toFile()).get("outcome").asText()).isEqualTo("recovered");
        assertPlatformAtT(db, usersAtT, uploads, uploadsAtT, env, writers);
      }
    }
  }

  /** The incident: data lost, an upload deleted, one changed, junk added, the configuration broken; writers run. */
  private static void damage(String db, Path uploads, Path env, Path writers) throws Exception {
    pg.execute(db, "TRUNCATE users CASCADE", "CREATE TABLE IF NOT EXISTS after_t (id int)");
    Files.deleteIfExists(uploads.resolve("map.png"));
    Files.writeString(uploads.resolve("notes.txt"), "overwritten");
    Files.writeString(uploads.resolve("junk.bin"), "junk");
    Files.writeString(env, "garbage");
    Files.writeString(writers, "running\n");
  }

  private static void assertPlatformAtT(String db, long users, Path uploads, Path uploadsAtT, Path env, Path writers)
      throws Exception {
    assertThat(users(db)).as("users as at T").isEqualTo(users);
    assertThat(tableExists(db, "after_t")).as("the database of the backup before T").isFalse();
    assertSameFiles(uploadsAtT, uploads);
    assertThat(Files.readString(env)).contains("APP_REGION=tokyo").doesNotContain("osaka", "garbage");
    assertThat(Files.readString(writers).strip()).as("the writers run again").isEqualTo("running");
  }

  private static Set<String> reportIds(Path reports) throws Exception {
    Set<String> ids = new HashSet<>();
    if (Files.isDirectory(reports)) {
      try (Stream<Path> files = Files.list(reports)) {
        files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".json"))
            .forEach(n -> ids.add(n.substring(0, n.length() - 5)));
      }
    }
    return ids;
  }

  /** The step a killed run was in: the running one, or after the last done one. */
  private static String landedIn(JsonNode report) {
    String last = "before any step";
    for (JsonNode step : report.get("steps")) {
      String outcome = step.get("outcome").asText();
      if (outcome.equals("running")) {
        return "in " + step.get("name").asText();
      }
      if (outcome.equals("done") || outcome.equals("skipped")) {
        last = "after " + step.get("name").asText();
      }
    }
    return report.get("outcome").asText().equals("running") ? last : "after the run finished";
  }

  /** Waits until a new report (not in {@code before}) says {@code step} runs or ran, or the run has ended. */
  private static void awaitStep(Path reports, Set<String> before, String step, Process run) throws Exception {
    java.time.Instant deadline = java.time.Instant.now().plusSeconds(120);
    while (run.isAlive() && java.time.Instant.now().isBefore(deadline)) {
      for (String id : reportIds(reports)) {
        if (!before.contains(id)) {
          try {
            for (JsonNode s : JSON.readTree(reports.resolve(id + ".json").toFile()).get("steps")) {
              if (s.get("name").asText().equals(step) && !s.get("outcome").asText().equals("not run")) {
                return;
              }
            }
          } catch (java.io.IOException beingWritten) {
            // read again at the next poll
          }
        }
      }
      Thread.sleep(5);
    }
  }

  /** Waits until {@code run} holds the recovery's lock (its pid on the lock's holder line); fails if it ended first. */
  private static void awaitHeld(Path lock, Process run) throws Exception {
    java.time.Instant deadline = java.time.Instant.now().plusSeconds(120);
    while (java.time.Instant.now().isBefore(deadline)) {
      assertThat(run.isAlive()).as("the resumed run is still running").isTrue();
      if (Files.exists(lock) && Files.readString(lock).lines().anyMatch(l -> l.startsWith("holder ")
          && l.endsWith(" " + run.pid()))) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the resumed run never took the lock");
  }

  private static void copyFiles(Path from, Path to) throws Exception {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName().toString()));
      }
    }
  }

  @AfterAll
  static void figures() {
    System.out.printf("%nkill campaign (seed %d): | operation | kills | finished before the kill |%n", SEED);
    FIGURES.forEach((op, f) -> System.out.printf("| %s | %d | %d |%n", op, f[0], f[1]));
  }

  private static void assertSameFiles(Path expected, Path actual) throws Exception {
    List<String> names = new ArrayList<>();
    try (Stream<Path> files = Files.list(expected)) {
      for (Path f : files.toList()) {
        names.add(f.getFileName().toString());
        assertThat(actual.resolve(f.getFileName().toString())).as("a complete restore").hasSameBinaryContentAs(f);
      }
    }
    try (Stream<Path> files = Files.list(actual)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrderElementsOf(names);
    }
  }

  private static long users(String db) throws Exception {
    return Long.parseLong(pg.single(db, "SELECT count(*) FROM users"));
  }

  private static boolean tableExists(String db, String table) throws Exception {
    return pg.single(db, "SELECT (to_regclass('" + table + "') IS NOT NULL)::int").equals("1");
  }

  private static long count(String sql) throws Exception {
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }
}
