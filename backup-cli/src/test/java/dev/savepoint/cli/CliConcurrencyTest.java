package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Processes that do not coordinate: two backups of one plan at once make two distinct complete backups; cleanup
 * and prune running again and again during a backup never leave a manifest that points at a deleted object.
 */
class CliConcurrencyTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  private Path data() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("uploads"));
    Random random = new Random(6);
    for (int f = 0; f < 12; f++) {
      byte[] b = new byte[2 << 20];
      random.nextBytes(b);
      Files.write(src.resolve("image-" + f + ".png"), b);
    }
    return src;
  }

  private List<String> ids(String repo, String plan) throws Exception {
    List<String> ids = new ArrayList<>();
    for (JsonNode b : JSON.readTree(CliProcess.run("list", "--repo", repo, "--plan", plan, "--json").out())) {
      assertThat(b.has("damaged")).as(b.toString()).isFalse();
      ids.add(b.get("id").asText());
    }
    return ids;
  }

  private void assertEachVerifies(String repo, String plan, List<String> ids) throws Exception {
    for (String id : ids) {
      CliProcess.Result v = CliProcess.run("verify", "--insecure-unsigned", "--repo", repo, "--plan", plan, id, "--full");
      assertThat(v.exit()).as(v.err()).isZero();
    }
  }

  @Test
  void twoBackupsOfOnePlanAtOnceAreTwoCompleteBackups() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path src = data();
    String[] backup = {"backup", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--source", "file:" + src};
    Process a = CliProcess.builder("256m", backup).start();
    Process b = CliProcess.builder("256m", backup).start();
    CliProcess.Result ra = CliProcess.finish(a);
    CliProcess.Result rb = CliProcess.finish(b);
    assertThat(ra.exit()).as(ra.err()).isZero();
    assertThat(rb.exit()).as(rb.err()).isZero();
    List<String> ids = ids(repo, "uploads");
    assertThat(new HashSet<>(ids)).hasSize(2);
    assertEachVerifies(repo, "uploads", ids);
  }

  @Test
  void cleanupAndPruneDuringABackupNeverLeaveAManifestWithoutItsObjects() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path src = data();
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--source", "file:" + src).exit()).isZero();
    Process backup = CliProcess.builder("256m", "backup", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--source",
        "file:" + src).start();
    int rounds = 0;
    while (backup.isAlive() || rounds < 2) {
      assertThat(CliProcess.run("cleanup", "--repo", repo, "--min-age", "PT0S").exit()).isZero();
      assertThat(CliProcess.run("prune", "--repo", repo, "--plan", "uploads", "--keep-last", "1", "--force").exit())
          .isZero();
      rounds++;
    }
    CliProcess.Result r = CliProcess.finish(backup);
    List<String> ids = ids(repo, "uploads");
    assertThat(ids).as("the backup completed (%s) or failed cleanly", r.exit()).isNotEmpty();
    assertEachVerifies(repo, "uploads", ids);
    Set<String> kept = new HashSet<>(ids);
    System.out.printf("cleanup and prune ran %d times during a backup (exit %d); kept %s%n", rounds, r.exit(), kept);
  }
}
