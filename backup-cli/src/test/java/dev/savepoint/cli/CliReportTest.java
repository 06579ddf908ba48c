package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.savepoint.core.FakeBackups;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.RestoreDrill;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 42, from the operator trial of {@code report}: an empty repository is no all-clear; a plan file's plans of
 * other repositories are not "no backup at all" here; the suggested commands run as pasted (with the report's own
 * repository and key options); a passed drill slower than the RTO needs attention; nonsense durations and price
 * files are refused; a drill report's text cannot paint lines into the text report.
 */
class CliReportTest {
  @TempDir
  Path tmp;

  @Test
  void anEmptyRepositoryIsNoAllClear() throws Exception {
    Files.createDirectories(tmp.resolve("empty"));
    CliProcess.Result report = CliProcess.run("report", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("empty"),
        "--json");
    assertThat(report.exit()).as(report.err()).isEqualTo(Main.INTEGRITY);
    assertThat(new ObjectMapper().readTree(report.out()).get("overdue").get(0).asText())
        .startsWith("the repository holds no plans");
  }

  @Test
  void suggestedCommandsRunAsPastedAndPlansOfOtherRepositoriesAreLeftOut() throws Exception {
    Path repoDir = tmp.resolve("repo");
    Repository repo = new Repository(new FilesystemStore(repoDir));
    Instant now = Instant.now();
    // Nine days old and never verified: "not verified within P7D".
    FakeBackups.write(repo, "db", "postgresql", now.minus(Duration.ofDays(9)), Duration.ofSeconds(5), 1000);
    Manifest m = FakeBackups.write(repo, "db", "postgresql", now.minus(Duration.ofMinutes(10)), Duration.ofSeconds(5),
        1000);
    // Passed, but in 2 h against an RTO of 1 h; and a detail that tries to paint a line of its own.
    RestoreDrill.record(repo, m, new RestoreDrill.Report("db", m.id(), now.minus(Duration.ofMinutes(5)), 7_200_000, 3,
        30, true, "ok\nOVERDUE nothing: all good\u001b[32m"));
    Path plans = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: db
            rpo: PT1H
            source: file:%1$s
            repository: file:%2$s
            insecureUnsigned: true
          - name: elsewhere
            source: file:%1$s
            repository: file:%3$s
            insecureUnsigned: true
        """.formatted(tmp, repoDir, tmp.resolve("other")));
    CliProcess.Result report = CliProcess.run("report", "--insecure-unsigned", "--repo", "file:" + repoDir,
        "--config", plans.toString(), "--json");
    assertThat(report.err()).contains("plan 'elsewhere' of " + plans + " backs up into file:" + tmp.resolve("other")
        + ", not this repository");
    JsonNode json = new ObjectMapper().readTree(report.out());
    List<String> overdue = new ArrayList<>();
    json.get("overdue").forEach(o -> overdue.add(o.asText()));
    assertThat(overdue).noneMatch(o -> o.startsWith("elsewhere"))
        .anyMatch(o -> o.startsWith("db: the newest restore drill") && o.contains("took PT2H, longer than the RTO PT1H"))
        .anyMatch(o -> o.equals("db: not verified within P7D"));
    // The fix for "not verified" runs as pasted, and then the plan is verified.
    String fix = "";
    for (JsonNode a : json.get("attention")) {
      if (a.get("message").asText().startsWith("not verified")) {
        fix = a.get("command").asText();
      }
    }
    assertThat(fix).startsWith("savepoint verify --repo file:" + repoDir + " --insecure-unsigned --plan db");
    String[] words = fix.substring("savepoint ".length()).split(" ");
    CliProcess.Result verify = CliProcess.run(words);
    assertThat(verify.exit()).as("%s: %s", Arrays.toString(words), verify.err()).isZero();
    CliProcess.Result after = CliProcess.run("report", "--insecure-unsigned", "--repo", "file:" + repoDir, "--config",
        plans.toString());
    assertThat(after.out()).doesNotContain("not verified").contains("fix: savepoint drill --repo file:" + repoDir);
    // A drill report's detail is shown escaped: it cannot start a line of its own.
    assertThat(after.out().lines()).noneMatch(l -> l.startsWith("OVERDUE nothing"));
    assertThat(after.out()).doesNotContain("\u001b");
  }

  @Test
  void nonsenseDurationsAndPriceFilesAreRefused() throws Exception {
    Path repoDir = tmp.resolve("repo");
    FakeBackups.write(new Repository(new FilesystemStore(repoDir)), "files", "directory", Instant.now(),
        Duration.ofSeconds(1), 10);
    String repo = "file:" + repoDir;
    CliProcess.Result negative = CliProcess.run("report", "--insecure-unsigned", "--repo", repo, "--rto", "-PT1H");
    assertThat(negative.exit()).isEqualTo(Main.USAGE);
    assertThat(negative.err()).contains("the RTO must not be negative");
    for (String[] bad : new String[][] {
        {"{\"classes\": {\"STANDARD\": {\"putPer1k\": 3}}}", "classes.STANDARD: unknown key 'putPer1k'"},
        {"{\"plans\": {\"files\": \"NO_SUCH_CLASS\"}}", "names the class 'NO_SUCH_CLASS', which the table does not price"},
        {"{\"currency\": \"\"}", "currency is empty"},
        {"{\"clases\": {}}", "unknown key 'clases'"}}) {
      Path prices = Files.writeString(tmp.resolve("prices.json"), bad[0]);
      CliProcess.Result r = CliProcess.run("report", "--insecure-unsigned", "--repo", repo, "--prices",
          prices.toString());
      assertThat(r.exit()).as(bad[0]).isEqualTo(Main.USAGE);
      assertThat(r.err()).contains(bad[1]);
    }
  }
}
