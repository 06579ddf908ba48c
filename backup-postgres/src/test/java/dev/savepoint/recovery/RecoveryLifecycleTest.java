package dev.savepoint.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.FilesystemStore;
import dev.savepoint.core.Repository;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A recovery is one at a time, and its report exists from its first step: a second run refuses at once, naming the
 * first; while a step runs the report says so, so a killed run can be resumed.
 */
class RecoveryLifecycleTest {
  @TempDir
  Path tmp;

  /** A step that waits until released, saying when it has started. */
  static RecoveryStep waiting(String name, CountDownLatch started, CountDownLatch release) {
    return new RecoveryStep() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Duration timeout() {
        return Duration.ofMinutes(1);
      }

      @Override
      public String describe() {
        return "wait";
      }

      @Override
      public Map<String, Object> run() throws InterruptedException {
        started.countDown();
        assertThat(release.await(60, TimeUnit.SECONDS)).isTrue();
        return Map.of();
      }

      @Override
      public String stateIfFailed() {
        return "writers are stopped";
      }
    };
  }

  static RecoveryStep instant(String name) {
    return waiting(name, new CountDownLatch(1), new CountDownLatch(0));
  }

  @Test
  void aSecondRunRefusesWhileTheFirstRunsAndTheReportShowsTheStepRunning() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    RecoveryPlan plan = RecoveryPlan.builder("trpg", repo).step(instant("stop-writers"))
        .step(waiting("restore-database", started, release)).step(instant("start-writers")).build();
    CompletableFuture<RecoveryReport> first = CompletableFuture.supplyAsync(() -> {
      try {
        return plan.run();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();

    RecoveryPlan second = RecoveryPlan.builder("trpg", repo).step(instant("stop-writers")).build();
    assertThatThrownBy(second::run).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot start recovery 'trpg'").hasMessageContaining("since");

    String reportKey = repo.store().list(RecoveryPlan.PREFIX).stream().map(o -> o.key())
        .filter(k -> k.endsWith(".json")).findFirst().orElseThrow();
    String id = reportKey.substring(RecoveryPlan.PREFIX.length(), reportKey.length() - ".json".length());
    RecoveryReport running = plan.load(id);
    assertThat(running.outcome()).isEqualTo("running");
    assertThat(running.steps()).extracting(RecoveryReport.StepResult::outcome)
        .containsExactly("done", "running", "not run");

    release.countDown();
    RecoveryReport done = first.get(60, TimeUnit.SECONDS);
    assertThat(done.succeeded()).isTrue();
    assertThat(done.id()).isEqualTo(id);
    // Once it has finished, the next run goes ahead; and a resume of the finished report skips every step.
    assertThat(second.run().succeeded()).isTrue();
    assertThatThrownBy(() -> plan.resume(id)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nothing to resume");
  }
}
