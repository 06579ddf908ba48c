package dev.savepoint.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A recovery's command step runs with a minimal environment plus what the recovery file names, and its output, which
 * may hold anything, is not stored in the report (which lives in the repository).
 */
class CommandStepTest {
  /** A variable of this process that a step must not see unless named (any one outside the minimal set). */
  static String unlisted() {
    return System.getenv().keySet().stream().filter(v -> v.matches("[A-Z_][A-Z0-9_]*"))
        .filter(v -> !List.of("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR")
            .contains(v)).findFirst().orElseThrow(() -> new IllegalStateException("this process has no variable "
                + "outside the minimal set, so the test would prove nothing"));
  }

  /**
   * Trial of issue 36: a kill -9 of recover leaves the command it ran alive (its own process group); the resume must
   * not run the step a second time beside it. Simulated: the step's record of a live orphan (here a sleep in its own
   * session) — the step ends it, and what it started, before running.
   */
  @Test
  void aResumedStepEndsTheCommandAKilledRunLeftRunning() throws Exception {
    List<String> command = List.of("sh", "-c", "true");
    Process orphan = new ProcessBuilder("setsid", "sh", "-c", "sleep 300 & wait").start();
    java.nio.file.Path running = Steps.runningFile("restart-app", command);
    java.nio.file.Files.writeString(running, orphan.pid() + " " + orphan.info().startInstant().orElseThrow() + "\n");
    List<ProcessHandle> started = new java.util.ArrayList<>();
    java.time.Instant deadline = java.time.Instant.now().plusSeconds(10);
    while (started.isEmpty() && java.time.Instant.now().isBefore(deadline)) {
      started = orphan.descendants().toList();
      Thread.sleep(50);
    }
    assertThat(started).as("the orphan's own child").isNotEmpty();
    assertThat(Steps.command("restart-app", command, List.of(), Duration.ofSeconds(30), "nothing").run())
        .containsEntry("outputCharacters", 0);
    assertThat(orphan.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).as("the orphan was ended").isTrue();
    Thread.sleep(200);
    assertThat(running(started.get(0).pid())).as("and what it started").isFalse();
    assertThat(running).as("no record left once the step ran").doesNotExist();
  }

  @Test
  void aStepSeesOnlyTheVariablesItsFileNames() throws Exception {
    String variable = unlisted();
    RecoveryStep hidden = Steps.command("hidden", List.of("sh", "-c", "[ -z \"${" + variable + "+x}\" ]"), List.of(),
        Duration.ofSeconds(30), "nothing");
    assertThat(hidden.run()).as("%s is not passed", variable).containsEntry("outputCharacters", 0);
    RecoveryStep named = Steps.command("named", List.of("sh", "-c", "[ -n \"${" + variable + "+x}\" ]"),
        List.of(variable), Duration.ofSeconds(30), "nothing");
    assertThat(named.run()).containsEntry("outputCharacters", 0);
  }

  @Test
  void theOutputIsNeitherInTheResultNorInTheError() throws Exception {
    // What the command prints (a secret it read, say) differs from its own text, which the report may show.
    String canary = "out-1337";
    String printIt = "printf 'out-%s\\n' $((1000 + 337))";
    RecoveryStep printing = Steps.command("printing", List.of("sh", "-c", printIt), List.of(),
        Duration.ofSeconds(30), "nothing");
    assertThat(printing.run()).isEqualTo(Map.of("outputCharacters", canary.length() + 1));
    RecoveryStep failing = Steps.command("failing", List.of("sh", "-c", printIt + "; exit 3"), List.of(),
        Duration.ofSeconds(30), "nothing");
    assertThatThrownBy(failing::run).hasMessageContaining("exited with 3").hasMessageNotContaining(canary);
  }

  /**
   * Issue 36.7: a command that starts a daemon (output inherited) finishes when the command does, and the daemon it
   * meant to start keeps running; a command that outlives its timeout is killed with everything it started.
   */
  @Test
  void aDaemonDoesNotHangTheStepAndATimedOutCommandEndsWithItsChildren(@org.junit.jupiter.api.io.TempDir
      java.nio.file.Path tmp) throws Exception {
    java.nio.file.Path daemonPid = tmp.resolve("daemon.pid");
    RecoveryStep starts = Steps.command("start-writers", List.of("sh", "-c", "sleep 30 & echo $! > " + daemonPid
        + "; echo started"), List.of(), Duration.ofSeconds(20), "nothing");
    long t0 = System.nanoTime();
    assertThat(starts.run()).containsEntry("outputCharacters", "started\n".length());
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    long daemon = Long.parseLong(java.nio.file.Files.readString(daemonPid).strip());
    assertThat(ProcessHandle.of(daemon).map(ProcessHandle::isAlive)).as("the daemon it meant to start").contains(true);
    ProcessHandle.of(daemon).ifPresent(ProcessHandle::destroyForcibly);

    java.nio.file.Path childPid = tmp.resolve("child.pid");
    RecoveryStep hangs = Steps.command("hangs", List.of("sh", "-c", "sleep 60 & echo $! > " + childPid + "; wait"),
        List.of(), Duration.ofSeconds(2), "nothing");
    assertThatThrownBy(hangs::run).hasMessageContaining("did not finish within PT2S");
    long child = Long.parseLong(java.nio.file.Files.readString(childPid).strip());
    Thread.sleep(200);
    assertThat(running(child)).as("its child was killed").isFalse();
  }

  /**
   * Whether {@code pid} still runs: a killed process whose parent died too stays a zombie until PID 1 reaps it
   * (which in a container may be never); it runs nothing.
   */
  static boolean running(long pid) {
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (java.io.IOException gone) {
      return false;
    }
  }
}
