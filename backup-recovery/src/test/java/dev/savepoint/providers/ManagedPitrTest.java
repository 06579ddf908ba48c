package dev.savepoint.providers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.store.Stores;
import dev.savepoint.recovery.RecoveryPlan;
import dev.savepoint.recovery.RecoveryReport;
import dev.savepoint.recovery.Steps;
import dev.savepoint.testkit.JsonApiDouble.Request;
import dev.savepoint.testkit.NeonApiDouble;
import dev.savepoint.testkit.SupabaseApiDouble;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Neon and Supabase point-in-time restores against local protocol doubles of their APIs ({@link NeonApiDouble},
 * {@link SupabaseApiDouble}; no provider runs here): the exact requests, polling, retries of busy answers, clear
 * errors for a refused token or an unknown project, and a time outside the window refused before any change.
 */
class ManagedPitrTest {
  private static final String TOKEN = "canary-provider-token-5b1e";
  private static final Secrets SECRETS = Secrets.of(Map.of(NeonPitr.TOKEN, TOKEN.toCharArray(),
      SupabasePitr.TOKEN, TOKEN.toCharArray()));
  private static final Duration FAST = Duration.ofMillis(20);

  @TempDir
  Path tmp;

  private static NeonPitr neon(NeonApiDouble api) {
    return NeonPitr.builder("proud-pine-123", "br-main-1").api(api.endpoint()).token(SECRETS).pollEvery(FAST).build();
  }

  private static SupabasePitr supabase(SupabaseApiDouble api) {
    return SupabasePitr.builder("abcdefghijklmnop").api(api.endpoint()).token(SECRETS).pollEvery(FAST).build();
  }

  @Test
  void neonRestoresTheBranchToItsOwnPastKeepingTheDamagedStateAndWaitsForTheOperation() throws Exception {
    try (NeonApiDouble api = new NeonApiDouble(TOKEN, "proud-pine-123", "br-main-1", 86_400)) {
      Instant at = Instant.now().minusSeconds(3600);
      Map<String, Object> details = neon(api).restore(at, Duration.ofMinutes(1));

      List<Request> calls = api.requests();
      assertThat(calls).allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer " + TOKEN));
      assertThat(calls).extracting(r -> r.method() + " " + r.path()).containsSubsequence(
          "GET /projects/proud-pine-123", "GET /projects/proud-pine-123/branches/br-main-1",
          "POST /projects/proud-pine-123/branches/br-main-1/restore", "GET /projects/proud-pine-123/operations/op-1");
      assertThat(calls.stream().filter(r -> r.path().endsWith("/operations/op-1")).count())
          .as("polled until finished").isEqualTo(3);
      var body = api.restores().get(0);
      assertThat(body.path("source_branch_id").asText()).isEqualTo("br-main-1");
      assertThat(Instant.parse(body.path("source_timestamp").asText())).isEqualTo(at);
      assertThat(body.path("preserve_under_name").asText()).startsWith("br-main-1-before-restore-");
      assertThat(details).containsEntry("provider", "neon").containsEntry("restoredTo", at.toString())
          .containsEntry("preservedAs", body.path("preserve_under_name").asText());
      assertThat(details.toString()).doesNotContain(TOKEN);
    }
  }

  @Test
  void busyAndFailingAnswersAreRetriedAndAFailedOperationIsAnError() throws Exception {
    try (NeonApiDouble api = new NeonApiDouble(TOKEN, "proud-pine-123", "br-main-1", 86_400)) {
      api.failNext(503, 423, 423);
      neon(api).restore(Instant.now().minusSeconds(60), Duration.ofMinutes(1));
      assertThat(api.restores()).hasSize(1);

      api.failRestores();
      assertThatThrownBy(() -> neon(api).restore(Instant.now().minusSeconds(60), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("ended failed")
          .hasMessageContaining("compute failed to start");
    }
  }

  /** Issue 36.8: a restore request answered 502 by a proxy that had forwarded it is not sent a second time. */
  @Test
  void aRestoreWhoseAnswerWasLostIsNotSentAgain() throws Exception {
    try (NeonApiDouble api = new NeonApiDouble(TOKEN, "proud-pine-123", "br-main-1", 86_400)) {
      api.losePostAnswer(502);
      assertThatThrownBy(() -> neon(api).restore(Instant.now().minusSeconds(60), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("HTTP 502")
          .hasMessageContaining("is not retried").hasMessageContaining("check its console");
      assertThat(api.restores()).as("exactly one restore reached the provider").hasSize(1);
      assertThat(api.requests().stream().filter(r -> r.method().equals("POST")).count()).isEqualTo(1);
    }
  }

  @Test
  void aRefusedTokenAnUnknownProjectAndATimeOutsideTheWindowChangeNothing() throws Exception {
    try (NeonApiDouble api = new NeonApiDouble(TOKEN, "proud-pine-123", "br-main-1", 3600)) {
      NeonPitr wrongToken = NeonPitr.builder("proud-pine-123", "br-main-1").api(api.endpoint()).pollEvery(FAST)
          .token(Secrets.of(Map.of(NeonPitr.TOKEN, "not-the-token".toCharArray()))).build();
      assertThatThrownBy(() -> wrongToken.restore(Instant.now().minusSeconds(60), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("refused the API token (HTTP 401")
          .satisfies(e -> assertThat(((ProviderException) e).status()).isEqualTo(401))
          .hasMessageNotContaining("not-the-token");

      NeonPitr otherProject = NeonPitr.builder("no-such-project", "br-main-1").api(api.endpoint()).token(SECRETS)
          .pollEvery(FAST).build();
      assertThatThrownBy(() -> otherProject.window()).isInstanceOf(ProviderException.class)
          .hasMessageContaining("Neon has no project no-such-project (HTTP 404");

      assertThatThrownBy(() -> neon(api).restore(Instant.now().minusSeconds(7200), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("outside Neon's window")
          .hasMessageContaining("nothing was changed");
      assertThatThrownBy(() -> neon(api).restore(Instant.now().plusSeconds(600), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("outside Neon's window");
      assertThat(api.requests()).noneMatch(r -> r.method().equals("POST"));

      NeonPitr noToken = NeonPitr.builder("proud-pine-123", "br-main-1").api(api.endpoint()).token(Secrets.none())
          .build();
      assertThatThrownBy(noToken::window).isInstanceOf(dev.savepoint.core.ConfigurationException.class)
          .hasMessageContaining("no Neon API token");
    }
  }

  @Test
  void supabaseRestoresInPlaceAndWaitsUntilTheProjectIsHealthyAgain() throws Exception {
    Instant earliest = Instant.now().minusSeconds(7 * 86_400);
    Instant latest = Instant.now().minusSeconds(120);
    try (SupabaseApiDouble api = new SupabaseApiDouble(TOKEN, "abcdefghijklmnop", true, earliest, latest)) {
      // Supabase takes whole seconds: the fraction is dropped, and the report says to which second.
      Instant at = latest.minusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plusMillis(750);
      Map<String, Object> details = supabase(api).restore(at, Duration.ofMinutes(1));

      assertThat(api.requests()).allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer " + TOKEN));
      assertThat(api.requests()).extracting(r -> r.method() + " " + r.path()).containsSubsequence(
          "GET /v1/projects/abcdefghijklmnop/database/backups",
          "POST /v1/projects/abcdefghijklmnop/database/backups/restore-pitr", "GET /v1/projects/abcdefghijklmnop");
      assertThat(api.restores()).singleElement()
          .satisfies(b -> assertThat(b.path("recovery_time_target_unix").asLong()).isEqualTo(at.getEpochSecond()));
      assertThat(api.requests().stream().filter(r -> r.path().equals("/v1/projects/abcdefghijklmnop")).count())
          .as("polled through RESTORING back to ACTIVE_HEALTHY").isEqualTo(3);
      assertThat(details).containsEntry("restoredTo", Instant.ofEpochSecond(at.getEpochSecond()).toString());

      api.failRestores();
      assertThatThrownBy(() -> supabase(api).restore(at, Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("RESTORE_FAILED");
    }
  }

  @Test
  void supabaseRefusesBeforeAnyChangeWithoutPitrOrOutsideTheWindow() throws Exception {
    Instant earliest = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).minusSeconds(86_400);
    Instant latest = Instant.now().minusSeconds(120);
    try (SupabaseApiDouble api = new SupabaseApiDouble(TOKEN, "abcdefghijklmnop", true, earliest, latest)) {
      assertThatThrownBy(() -> supabase(api).restore(earliest.minusSeconds(1), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("outside Supabase's window (from " + earliest);
      assertThatThrownBy(() -> supabase(api).restore(Instant.now(), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("outside Supabase's window");
      assertThat(api.restores()).isEmpty();
    }
    try (SupabaseApiDouble api = new SupabaseApiDouble(TOKEN, "abcdefghijklmnop", false, earliest, latest)) {
      assertThatThrownBy(() -> supabase(api).restore(latest.minusSeconds(60), Duration.ofMinutes(1)))
          .isInstanceOf(ProviderException.class).hasMessageContaining("not enabled");
      assertThat(api.requests()).noneMatch(r -> r.method().equals("POST"));
    }
  }

  @Test
  void asARecoveryStepItIsResolvedByTheDryRunAndReportedWithoutTheToken() throws Exception {
    try (NeonApiDouble api = new NeonApiDouble(TOKEN, "proud-pine-123", "br-main-1", 86_400)) {
      Repository repo = new Repository(Stores.filesystem(tmp.resolve("repo")));
      Instant at = Instant.now().minusSeconds(600);
      RecoveryPlan plan = RecoveryPlan.builder("trpg", repo)
          .step(Steps.providerRestore("restore-database", neon(api), at, Duration.ofMinutes(1))).build();

      RecoveryReport dry = plan.dryRun();
      assertThat(dry.succeeded()).isTrue();
      assertThat(dry.steps().get(0).description()).contains("restore neon project proud-pine-123 branch br-main-1 to "
          + at);
      assertThat(api.restores()).isEmpty();

      RecoveryReport done = plan.run();
      assertThat(done.succeeded()).as(done.toString()).isTrue();
      assertThat(done.steps().get(0).details()).containsEntry("restoredTo", at.toString());
      assertThat(api.restores()).hasSize(1);
      try (var files = Files.walk(tmp.resolve("repo"))) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          assertThat(Files.readString(f, java.nio.charset.StandardCharsets.ISO_8859_1)).as(f.toString())
              .doesNotContain(TOKEN);
        }
      }

      RecoveryReport noTime = RecoveryPlan.builder("trpg", repo)
          .step(Steps.providerRestore("restore-database", neon(api), null, Duration.ofMinutes(1))).build().dryRun();
      assertThat(noTime.steps().get(0).error()).contains("needs the point in time to go back to (--at)");
      RecoveryReport tooOld = RecoveryPlan.builder("trpg", repo).step(Steps.providerRestore("restore-database",
          neon(api), Instant.now().minusSeconds(200_000), Duration.ofMinutes(1))).build().dryRun();
      assertThat(tooOld.steps().get(0).error()).contains("is outside the window of neon project proud-pine-123");
    }
  }
}
