package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's table of exit codes, held for every command: 2 for usage and configuration errors (an unknown
 * option, a repository that does not exist), 3 for integrity failures (a damaged backup), each with one line on
 * stderr.
 */
class CliExitCodesTest {
  @TempDir
  Path tmp;

  static final List<List<String>> COMMANDS = List.of(
      List.of("backup", "--plan", "p", "--source", "-"),
      List.of("list"),
      List.of("verify", "--plan", "p"),
      List.of("restore", "--plan", "p", "--to", "-"),
      List.of("drill", "--plan", "p", "--scratch", "postgresql://postgres@127.0.0.1:1/postgres"),
      List.of("cleanup"),
      List.of("prune", "--plan", "p", "--keep-last", "1"),
      List.of("report"),
      List.of("approve", "--request", "--plan", "p", "--to", "-"),
      List.of("audit"),
      List.of("delete", "--plan", "p", "20261129T000000.000Z-0000"),
      List.of("basebackup", "--plan", "p", "--source", "postgresql://postgres@127.0.0.1:1/postgres"),
      List.of("wal", "verify", "--plan", "p"));

  static List<String> with(List<String> command, String... more) {
    List<String> args = new ArrayList<>(command);
    args.addAll(List.of(more));
    return args;
  }

  @Test
  void everyCommandAnswersUsageErrorsAndMissingRepositoriesWithExit2AndOneLine() throws Exception {
    String missing = "file:" + tmp.resolve("no/such/repo");
    for (List<String> command : COMMANDS) {
      CliProcess.Result unknown = CliProcess.run(with(command, "--repo", missing, "--no-such-option")
          .toArray(String[]::new));
      assertThat(unknown.exit()).as("%s with an unknown option: %s", command, unknown.err()).isEqualTo(Main.USAGE);
      if (command.get(0).equals("backup") || command.get(0).equals("basebackup")) {
        continue; // these may create a new repository
      }
      CliProcess.Result noRepo = CliProcess.run(with(command, "--repo", missing).toArray(String[]::new));
      assertThat(noRepo.exit()).as("%s on a missing repository: %s", command, noRepo.err()).isEqualTo(Main.USAGE);
      assertThat(noRepo.errors().size()).as("%s: one line", command).isEqualTo(1);
    }
    assertThat(tmp.resolve("no")).as("nothing created").doesNotExist();
  }

  @Test
  void aMissingInputFileIsSaidInWords() throws Exception {
    Path missing = tmp.resolve("000000010000000000000042");
    CliProcess.Result push = CliProcess.run("wal", "push", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("repo"), "--plan", "p",
        missing.toString());
    assertThat(push.exit()).isNotZero();
    assertThat(push.errors()).containsExactly("savepoint: no such file: " + missing);
  }

  /** A target that holds data and was not to be replaced is the operator's choice: 2, with nothing written. */
  @Test
  void aNonEmptyRestoreTargetIsAUsageError() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path dir = Files.createDirectories(tmp.resolve("uploads"));
    Files.writeString(dir.resolve("map.png"), "map");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "u", "--source", "file:" + dir)
        .exit()).isZero();
    Path occupied = Files.createDirectories(tmp.resolve("occupied"));
    Files.writeString(occupied.resolve("keep.txt"), "someone's file");
    CliProcess.Result r = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "u", "--to",
        "file:" + occupied);
    assertThat(r.exit()).as(r.err()).isEqualTo(Main.USAGE);
    assertThat(r.err()).contains("not an empty directory");
    assertThat(occupied.resolve("keep.txt")).hasContent("someone's file");
  }

  @Test
  void readingADamagedBackupIsExit3() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path file = Files.writeString(tmp.resolve("f.txt"), "data");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "p", "--source", "file:" + file).exit()).isZero();
    Path manifest;
    try (Stream<Path> walk = Files.walk(tmp.resolve("repo/p"))) {
      manifest = walk.filter(p -> p.getFileName().toString().equals("manifest.json")).findFirst().orElseThrow();
    }
    Files.writeString(manifest, "{ damaged");
    for (List<String> command : List.of(List.of("verify", "--insecure-unsigned", "--plan", "p"),
        List.of("restore", "--insecure-unsigned", "--plan", "p", "--to", "-"), List.of("report"))) {
      CliProcess.Result r = CliProcess.run(with(command, "--repo", repo).toArray(String[]::new));
      assertThat(r.exit()).as("%s: %s", command, r.err()).isEqualTo(Main.INTEGRITY);
      assertThat(r.errors().size()).as("%s: one line", command).isEqualTo(1);
    }
  }
}
