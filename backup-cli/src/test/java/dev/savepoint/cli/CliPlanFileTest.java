package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliPlanFileTest {
  @TempDir
  Path tmp;

  @Test
  void runPlansFromYamlWithArchiveCopyAndRetention() throws Exception {
    Path uploads = Files.createDirectories(tmp.resolve("uploads"));
    Files.writeString(uploads.resolve("map.png"), "not really a png");
    Path settings = Files.writeString(tmp.resolve("settings.json"), "{\"dice\":\"d20\"}");
    Path planFile = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: uploads
            tier: tier3
            schedule: "0 3 * * 0"
            source: file:%s
            compress: gzip
            repository: file:%s
            insecureUnsigned: true
            archive: file:%s
            retention: {keepLast: 2, pruneOnRun: true}
          - name: settings
            tier: tier2
            source: file:%s
            repository: file:%s
            insecureUnsigned: true
        """.formatted(uploads, tmp.resolve("primary"), tmp.resolve("archive"), settings, tmp.resolve("primary")));
    for (int i = 0; i < 3; i++) {
      CliProcess.Result run = CliProcess.run("run", "--config", planFile.toString());
      assertThat(run.exit()).as(run.err()).isZero();
    }
    ObjectMapper json = new ObjectMapper();
    assertThat(json.readTree(CliProcess.run("list", "--repo", "file:" + tmp.resolve("primary"), "--plan", "uploads", "--json").out()))
        .hasSize(2);
    assertThat(json.readTree(CliProcess.run("list", "--repo", "file:" + tmp.resolve("primary"), "--plan", "settings", "--json").out()))
        .hasSize(3);
    assertThat(json.readTree(CliProcess.run("list", "--repo", "file:" + tmp.resolve("archive"), "--json").out()))
        .hasSize(3);
    CliProcess.Result report = CliProcess.run("report", "--repo", "file:" + tmp.resolve("primary"), "--json");
    assertThat(report.exit()).as("plans minutes old are not a week overdue: %s", report.out()).isZero();
    Thread.sleep(1100);
    report = CliProcess.run("report", "--repo", "file:" + tmp.resolve("primary"), "--verify-every", "PT1S", "--json");
    assertThat(report.exit()).isEqualTo(3);
    assertThat(json.readTree(report.out()).get("overdue").toString()).contains("uploads: not verified within");
    for (String plan : new String[] {"uploads", "settings"}) {
      assertThat(CliProcess.run("verify", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("primary"), "--plan", plan).exit()).isZero();
    }
    report = CliProcess.run("report", "--repo", "file:" + tmp.resolve("primary"), "--json");
    assertThat(report.exit()).as(report.out()).isZero();
    assertThat(json.readTree(report.out()).get("overdue")).isEmpty();

    Path props = Files.writeString(tmp.resolve("plans.properties"), """
        plans.1.name=props
        plans.1.source=file:%s
        plans.1.compress=none
        plans.1.repository=file:%s
        plans.1.insecureUnsigned=true
        """.formatted(settings, tmp.resolve("primary")));
    CliProcess.Result propsRun = CliProcess.run("run", "--config", props.toString());
    assertThat(propsRun.exit()).as(propsRun.err()).isZero();

    Path bad = Files.writeString(tmp.resolve("bad.yaml"), "plans:\n  - name: x\n    schedule: \"99 * * * *\"\n    source: \"-\"\n    repository: file:/tmp/x\n    insecureUnsigned: true\n");
    CliProcess.Result badRun = CliProcess.run("run", "--config", bad.toString());
    assertThat(badRun.exit()).isEqualTo(2);
    assertThat(badRun.err()).contains("invalid cron expression '99 * * * *'");
    // Two plans of one name would share backups, one's retention deleting the other's; a repeated key, one value.
    Path twice = Files.writeString(tmp.resolve("twice.yaml"), "plans:\n  - {name: x, source: -, repository: file:/tmp/x}\n"
        + "  - {name: x, source: -, repository: file:/tmp/x}\n");
    CliProcess.Result twiceRun = CliProcess.run("run", "--config", twice.toString());
    assertThat(twiceRun.exit()).isEqualTo(2);
    assertThat(twiceRun.err()).contains("defines plan 'x' twice");
    Path repeated = Files.writeString(tmp.resolve("repeated.yaml"), "plans:\n  - name: x\n    source: -\n"
        + "    repository: file:/tmp/x\n    source: file:/etc\n");
    CliProcess.Result repeatedRun = CliProcess.run("run", "--config", repeated.toString());
    assertThat(repeatedRun.exit()).isEqualTo(2);
    assertThat(repeatedRun.err()).contains("source");
    Path typo = Files.writeString(tmp.resolve("typo.yaml"), "plans:\n  - name: x\n    sorce: \"-\"\n");
    CliProcess.Result typoRun = CliProcess.run("run", "--config", typo.toString());
    assertThat(typoRun.exit()).isEqualTo(2);
    assertThat(typoRun.errors()).singleElement().asString().contains("line 3: unknown key 'sorce' (did you mean "
        + "'source'?); valid keys here:", "repository", "retention", "docs/reference.md");
  }

  /**
   * The documented cron entry point attempts every plan: one failing its minimum size and one whose source is gone
   * do not stop the plan after them; each outcome is printed and the exit is the worst of them.
   */
  @Test
  void oneShotRunAttemptsEveryPlanAndExitsWithTheWorstOutcome() throws Exception {
    Path settings = Files.writeString(tmp.resolve("settings.env"), "LOG_LEVEL=info\n");
    Path planFile = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: too-small
            source: file:%1$s
            minSizeBytes: 1000000000
            repository: file:%2$s
            insecureUnsigned: true
          - name: gone
            source: file:%3$s
            repository: file:%2$s
            insecureUnsigned: true
          - name: settings
            source: file:%1$s
            repository: file:%2$s
            insecureUnsigned: true
        """.formatted(settings, tmp.resolve("repo"), tmp.resolve("no-such-file")));
    CliProcess.Result run = CliProcess.run("run", "--config", planFile.toString());
    assertThat(run.exit()).as(run.err()).isNotZero();
    assertThat(run.err()).contains("plan 'too-small' failed", "plan 'gone' failed");
    assertThat(run.out()).contains("backup ", "of plan 'settings' complete", "1 of 3 plan(s) backed up; FAILED: too-small, gone");
    ObjectMapper json = new ObjectMapper();
    assertThat(json.readTree(CliProcess.run("list", "--repo", "file:" + tmp.resolve("repo"), "--plan", "settings",
        "--json").out())).hasSize(1);
    CliProcess.Result asJson = CliProcess.run("run", "--config", planFile.toString(), "--json");
    assertThat(json.readTree(asJson.out())).hasSize(3).anySatisfy(o -> {
      assertThat(o.get("plan").asText()).isEqualTo("settings");
      assertThat(o.get("status").asText()).isEqualTo("ok");
    });
  }

  /**
   * Retention during an incident: a plan file's retention deletes nothing on `run` unless it says pruneOnRun; with
   * it, a backup younger than the freshness guard and the newest backup that passed a full verification survive
   * every rule, and each deletion is printed.
   */
  @Test
  void retentionNeverTakesTheLastKnownGoodOrAFreshBackup() throws Exception {
    Path settings = Files.writeString(tmp.resolve("settings.env"), "LOG_LEVEL=info\n");
    String repo = "file:" + tmp.resolve("repo");
    String plans = """
        plans:
          - name: quiet
            source: file:%1$s
            repository: %2$s
            insecureUnsigned: true
            retention: {keepLast: 1}
          - name: tier2
            source: file:%1$s
            repository: %2$s
            insecureUnsigned: true
            retention: {keepLast: 1, pruneOnRun: true}
          - name: hourly
            rpo: PT1H
            source: file:%1$s
            repository: %2$s
            insecureUnsigned: true
            retention: {keepLast: 1, pruneOnRun: true}
        """.formatted(settings, repo);
    Path planFile = Files.writeString(tmp.resolve("plans.yaml"), plans);
    ObjectMapper json = new ObjectMapper();
    CliProcess.Result first = CliProcess.run("run", "--config", planFile.toString(), "--json");
    assertThat(first.exit()).as(first.err()).isZero();
    String proven = json.readTree(first.out()).get(1).get("backupId").asText();
    CliProcess.Result verify = CliProcess.run("verify", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        proven, "--full");
    assertThat(verify.exit()).as(verify.err()).isZero();
    CliProcess.Result second = CliProcess.run("run", "--config", planFile.toString());
    assertThat(second.exit()).as(second.err()).isZero();
    assertThat(second.out()).contains("retention of plan 'quiet' not applied")
        .doesNotContain("deleted backup " + proven);
    CliProcess.Result third = CliProcess.run("run", "--config", planFile.toString(), "--json");
    assertThat(third.exit()).as(third.err()).isZero();
    assertThat(json.readTree(third.out()).get(1).get("pruned")).hasSize(1); // the unproven second backup
    assertThat(ids(json, repo, "quiet")).hasSize(3);
    assertThat(ids(json, repo, "hourly")).hasSize(3); // all younger than the one-hour guard
    assertThat(ids(json, repo, "tier2")).hasSize(2).contains(proven);
    CliProcess.Result dry = CliProcess.run("prune", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--keep-last", "1", "--dry-run");
    assertThat(dry.out()).containsPattern(proven + " +keep +last known good: passed a full verification");
  }

  /** A scheduled slot does what a one-shot run does: the backup line, its audit entry and the plan's retention. */
  @Test
  void scheduledSlotsBackUpAuditAndPruneLikeOneShotRuns() throws Exception {
    Path settings = Files.writeString(tmp.resolve("settings.env"), "LOG_LEVEL=info\n");
    String repo = "file:" + tmp.resolve("repo");
    Path planFile = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: every-second
            schedule: "*/2 * * * * *"
            source: file:%s
            repository: %s
            insecureUnsigned: true
            retention: {keepLast: 1, pruneOnRun: true}
        """.formatted(settings, repo));
    Process p = CliProcess.builder("256m", "run", "--config", planFile.toString(), "--schedule").start();
    String out;
    try (java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
      StringBuilder seen = new StringBuilder();
      String line;
      while ((line = lines.readLine()) != null && !line.contains("deleted backup")) {
        seen.append(line).append('\n');
      }
      out = seen.append(line).toString();
    } finally {
      p.destroy(); // SIGTERM: stops gracefully, exit 0 (not the JVM's 143)
      p.waitFor();
    }
    assertThat(p.exitValue()).isZero();
    assertThat(out).contains("of plan 'every-second' complete", "retention of plan 'every-second' deleted backup");
    CliProcess.Result audit = CliProcess.run("audit", "--insecure-unsigned", "--repo", repo);
    assertThat(audit.out()).contains("backup", "prune");
  }

  /**
   * Issue 37.6: report takes each plan's cadence from its plan file, counts a failed newest drill as overdue, shows
   * the overdue items on the HTML page too, and a stray folder in the repository is a warning, not exit 2 for all.
   */
  @Test
  void reportUsesEachPlansCadenceAndNamesAStrayFolder() throws Exception {
    Path settings = Files.writeString(tmp.resolve("settings.env"), "LOG_LEVEL=info\n");
    Path repoDir = tmp.resolve("repo");
    String repo = "file:" + repoDir;
    Path planFile = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: hourly
            rpo: PT1S
            source: file:%1$s
            repository: %2$s
            insecureUnsigned: true
          - name: weekly
            rpo: P7D
            verifyEvery: P30D
            source: file:%1$s
            repository: %2$s
            insecureUnsigned: true
        """.formatted(settings, repo));
    assertThat(CliProcess.run("run", "--config", planFile.toString()).exit()).isZero();
    for (String plan : List.of("hourly", "weekly")) {
      assertThat(CliProcess.run("verify", "--insecure-unsigned", "--repo", repo, "--plan", plan).exit()).isZero();
    }
    Files.writeString(Files.createDirectories(repoDir.resolve("My Photos (copy)")).resolve("beach.jpg"), "jpeg");
    dev.savepoint.core.Repository r = new dev.savepoint.core.Repository(new dev.savepoint.core.store.FilesystemStore(repoDir));
    dev.savepoint.core.Manifest weekly = r.list("weekly").get(0);
    dev.savepoint.postgres.RestoreDrill.record(r, weekly, new dev.savepoint.postgres.RestoreDrill.Report("weekly",
        weekly.id(), java.time.Instant.now(), 1000, 0, 0, false, "row counts differ in users"));
    Thread.sleep(1500);
    Path page = tmp.resolve("status.html");
    // A plan of the file that never ran, and a planted object in the audit log: both reported, neither blinds it.
    Path reportPlans = Files.writeString(tmp.resolve("report-plans.yaml"), Files.readString(planFile) + """
          - name: never
            source: file:%s
            repository: %s
            insecureUnsigned: true
        """.formatted(settings, repo));
    Files.writeString(repoDir.resolve("_savepoint/audit/000000000999.json"), "planted");
    CliProcess.Result report = CliProcess.run("report", "--insecure-unsigned", "--repo", repo, "--config",
        reportPlans.toString(), "--html", page.toString(), "--json");
    assertThat(report.exit()).as(report.err()).isEqualTo(Main.INTEGRITY);
    String overdue = new ObjectMapper().readTree(report.out()).get("overdue").toString();
    assertThat(overdue).contains("never: no backup at all", "audit log: ", "hourly: newest backup older than PT1S")
        .contains("weekly: the newest restore drill", "failed: row counts differ in users")
        .doesNotContain("weekly: newest backup older");
    assertThat(report.err()).contains("warning: ignoring folder 'My Photos (copy)'");
    assertThat(Files.readString(page)).contains("id=\"attention\"", "hourly: newest backup older than PT1S",
        "row counts differ in users");
    assertThat(CliProcess.run("list", "--insecure-unsigned", "--repo", repo).exit()).isZero();
  }

  /** The trial's case: an emptied source (an unmounted volume) backs up fine, but its retention deletes nothing. */
  @Test
  void aBackupThatShrankToNothingDoesNotPruneTheOnesWithData() throws Exception {
    Path uploads = Files.createDirectories(tmp.resolve("uploads"));
    Files.write(uploads.resolve("map.png"), new byte[200_000]);
    String repo = "file:" + tmp.resolve("repo");
    Path planFile = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: uploads
            source: file:%s
            repository: %s
            insecureUnsigned: true
            retention: {keepLast: 1, pruneOnRun: true}
        """.formatted(uploads, repo));
    assertThat(CliProcess.run("run", "--config", planFile.toString()).exit()).isZero();
    Files.delete(uploads.resolve("map.png")); // the volume is not mounted
    CliProcess.Result empty = CliProcess.run("run", "--config", planFile.toString());
    assertThat(empty.exit()).as(empty.err()).isZero();
    assertThat(empty.err()).contains("retention of plan 'uploads' not applied", "an empty or unmounted source?");
    assertThat(ids(new ObjectMapper(), repo, "uploads")).hasSize(2);
  }

  private static List<String> ids(ObjectMapper json, String repo, String plan) throws Exception {
    List<String> ids = new java.util.ArrayList<>();
    json.readTree(CliProcess.run("list", "--repo", repo, "--plan", plan, "--json").out())
        .forEach(b -> ids.add(b.get("id").asText()));
    return ids;
  }
}
