package dev.savepoint.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.Repository;
import dev.savepoint.core.store.FilesystemStore;
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
    return step(name, Duration.ofMinutes(1), () -> {
      started.countDown();
      assertThat(release.await(60, TimeUnit.SECONDS)).isTrue();
      return Map.of();
    }, false, null);
  }

  /** A step doing {@code body}, with the given resume and state behaviour. */
  static RecoveryStep step(String name, java.util.concurrent.Callable<Map<String, Object>> body,
      boolean repeatsOnResume, String leaves) {
    return step(name, Duration.ofSeconds(5), body, repeatsOnResume, leaves);
  }

  static RecoveryStep step(String name, Duration timeout, java.util.concurrent.Callable<Map<String, Object>> body,
      boolean repeatsOnResume, String leaves) {
    return new RecoveryStep() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Duration timeout() {
        return timeout;
      }

      @Override
      public String describe() {
        return name;
      }

      @Override
      public Map<String, Object> run() throws java.io.IOException, InterruptedException {
        try {
          return body.call();
        } catch (java.io.IOException | InterruptedException | RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }

      @Override
      public boolean repeatsOnResume() {
        return repeatsOnResume;
      }

      @Override
      public String leaves() {
        return leaves;
      }
    };
  }

  static RecoveryStep instant(String name) {
    return waiting(name, new CountDownLatch(1), new CountDownLatch(0));
  }

  /** Issue 36: with the incident's start given, the RTO is the outage, not the procedure; a resume keeps it. */
  @Test
  void theRtoCountsFromTheIncidentStartAcrossResumes() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    java.time.Instant incident = java.time.Instant.now().minusSeconds(600);
    java.util.concurrent.atomic.AtomicBoolean fail = new java.util.concurrent.atomic.AtomicBoolean(true);
    RecoveryStep flaky = step("restore-database", () -> {
      if (fail.get()) {
        throw new java.io.IOException("the database is not reachable");
      }
      return Map.of();
    }, false, null);
    RecoveryPlan first = RecoveryPlan.builder("trpg", repo).rto(Duration.ofMinutes(5)).incidentStart(incident)
        .step(instant("stop-writers")).step(flaky).build();
    RecoveryReport failed = first.run();
    assertThat(failed.succeeded()).isFalse();
    assertThat(failed.incidentStartedAt()).isEqualTo(incident);
    assertThat(failed.rtoSeconds()).isGreaterThanOrEqualTo(600);
    fail.set(false);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> RecoveryPlan.builder("trpg", repo)
        .incidentStart(incident.minusSeconds(60)).step(instant("stop-writers")).step(flaky).build()
        .resume(failed.id())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("counts the outage from");
    // Resumed without saying it again: the report remembers.
    RecoveryReport resumed = RecoveryPlan.builder("trpg", repo).rto(Duration.ofMinutes(5))
        .step(instant("stop-writers")).step(flaky).build().resume(failed.id());
    assertThat(resumed.outcome()).isEqualTo("recovered");
    assertThat(resumed.incidentStartedAt()).isEqualTo(incident);
    assertThat(resumed.rtoSeconds()).as("the outage, not the second run's seconds").isGreaterThanOrEqualTo(600);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> RecoveryPlan.builder("trpg", repo)
        .incidentStart(java.time.Instant.now().plusSeconds(60))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("in the future");
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

  /**
   * Issue 36.5: a health check that fails after the writers started says so — the report's state names the running
   * writers, not only "unchanged by this step" — and the failure shows what the service answered, before the step's
   * own timeout cuts it off.
   */
  @Test
  void aFailedHealthCheckReportsTheAnswerAndThatTheWritersRun() throws Exception {
    com.sun.net.httpserver.HttpServer http = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/health", exchange -> {
      byte[] body = "{\"status\": \"down\",\n \"reason\": \"migrations pending\"}".getBytes();
      exchange.sendResponseHeaders(503, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    http.start();
    try {
      Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
      RecoveryStep start = step("start-writers", Map::of, false,
          "deployment prod/trpg runs (writers started by step start-writers)");
      java.net.URI url = java.net.URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/health");
      RecoveryReport r = RecoveryPlan.builder("trpg", repo).step(instant("stop-writers")).step(start)
          .step(Steps.health("health", url, Duration.ofSeconds(8))).build().run();
      assertThat(r.succeeded()).isFalse();
      assertThat(r.stateAfterFailure()).isEqualTo("unchanged by this step; deployment prod/trpg runs (writers started by "
          + "step start-writers)");
      assertThat(r.steps().get(2).error()).contains("HTTP 503: {\"status\": \"down\", \"reason\": \"migrations pending\"}")
          .doesNotContain("did not finish within");
    } finally {
      http.stop(0);
    }
  }

  /** Issue 38.4: a resume runs a guarding step (the approval) again; a report saying it passed proves nothing. */
  @Test
  void aResumeChecksTheApprovalAgain() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    java.util.concurrent.atomic.AtomicInteger approvals = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean approved = new java.util.concurrent.atomic.AtomicBoolean(true);
    RecoveryStep approve = step("approve", () -> {
      approvals.incrementAndGet();
      if (!approved.get()) {
        throw new IllegalStateException("the approval no longer holds");
      }
      return Map.of();
    }, true, null);
    java.util.concurrent.atomic.AtomicBoolean fail = new java.util.concurrent.atomic.AtomicBoolean(true);
    RecoveryStep flaky = step("restore", () -> {
      if (fail.get()) {
        throw new IllegalStateException("disk full");
      }
      return Map.of();
    }, false, null);
    RecoveryPlan plan = RecoveryPlan.builder("trpg", repo).step(approve).step(flaky).build();
    RecoveryReport first = plan.run();
    assertThat(first.failedStep()).isEqualTo("restore");
    fail.set(false);
    approved.set(false);
    RecoveryReport resumed = plan.resume(first.id());
    assertThat(resumed.failedStep()).as("the approval is checked again, and now fails").isEqualTo("approve");
    assertThat(approvals.get()).isEqualTo(2);
    approved.set(true);
    assertThat(plan.resume(first.id()).succeeded()).isTrue();
  }

  /** Issue 36.6: a typo'd plan in the last step is found before the first step stops anything. */
  @Test
  void aStepThatCannotResolveFailsTheRecoveryBeforeAnythingChanges() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    CountDownLatch stopped = new CountDownLatch(1);
    RecoveryPlan plan = RecoveryPlan.builder("trpg", repo)
        .step(waiting("stop-writers", stopped, new CountDownLatch(0)))
        .step(Steps.restore("restore-uploads", repo, "uploads-typo", dev.savepoint.core.BackupSelector.latest(),
            m -> { throw new AssertionError("never reached"); }, dev.savepoint.core.Secrets.none(),
            Duration.ofSeconds(5)))
        .build();
    RecoveryReport r = plan.run();
    assertThat(r.succeeded()).isFalse();
    assertThat(r.failedStep()).isEqualTo("restore-uploads");
    assertThat(r.stateAfterFailure()).startsWith("unchanged: nothing ran");
    assertThat(r.steps()).extracting(RecoveryReport.StepResult::outcome).containsExactly("not run", "failed");
    assertThat(r.steps().get(1).error()).startsWith("before any change: ").contains("uploads-typo");
    assertThat(stopped.getCount()).as("the writers were never stopped").isEqualTo(1);
  }
}
