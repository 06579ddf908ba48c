package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.testkit.NeonApiDouble;
import dev.savepoint.testkit.SupabaseApiDouble;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restore --to neon://…|supabase://…} and provider steps in a recovery file, against the local protocol
 * doubles of Neon's and Supabase's APIs (no provider runs here). The token is a canary: it must appear in no
 * output, report or audit entry.
 */
class CliProviderRestoreTest {
  private static final String TOKEN = "canary-cli-provider-token-93f0";
  private static final Map<String, String> ENV = Map.of("PROVIDER_TOKEN", TOKEN);

  @TempDir
  Path tmp;

  private void assertNoToken(CliProcess.Result r) throws Exception {
    assertThat(r.out() + r.err()).doesNotContain(TOKEN);
    if (Files.exists(tmp.resolve("repo"))) {
      try (var files = Files.walk(tmp.resolve("repo"))) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          assertThat(Files.readString(f, StandardCharsets.ISO_8859_1)).as(f.toString()).doesNotContain(TOKEN);
        }
      }
    }
  }

  @Test
  void restoreToNeonGoesBackToTheTimeAndIsAudited() throws Exception {
    try (NeonApiDouble neon = new NeonApiDouble(TOKEN, "proud-pine-123", "br-main-1", 86_400)) {
      String uri = "neon://proud-pine-123/br-main-1?tokenEnv=PROVIDER_TOKEN&pollEvery=PT0.05S&api=" + neon.endpoint();
      // The repository holds the audit log of the restore (the provider keeps the data).
      String repo = "file:" + Files.createDirectories(tmp.resolve("repo"));
      Instant at = Instant.now().minus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);

      CliProcess.Result ok = CliProcess.run(ENV, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--at", at.toString(),
          "--to", uri);
      assertThat(ok.exit()).as(ok.err()).isZero();
      assertThat(ok.err()).contains("restored neon project proud-pine-123 branch br-main-1 to " + at,
          "preservedAs: br-main-1-before-restore-");
      assertThat(neon.restores()).singleElement()
          .satisfies(b -> assertThat(b.path("source_timestamp").asText()).isEqualTo(at.toString()));
      CliProcess.Result audit = CliProcess.run("audit", "--repo", repo);
      assertThat(audit.out()).contains("restore", "neon project proud-pine-123");
      assertNoToken(ok);

      CliProcess.Result tooOld = CliProcess.run(ENV, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--at",
          Instant.now().minus(3, ChronoUnit.DAYS).toString(), "--to", uri);
      assertThat(tooOld.exit()).isNotZero();
      assertThat(tooOld.err()).contains("outside Neon's window", "nothing was changed");
      assertThat(tooOld.errors()).hasSize(1);
      assertThat(neon.restores()).hasSize(1);

      CliProcess.Result wrongToken = CliProcess.run(Map.of("PROVIDER_TOKEN", "canary-wrong-token-77"), "restore",
          "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--at", at.toString(), "--to", uri);
      assertThat(wrongToken.exit()).isNotZero();
      assertThat(wrongToken.err()).contains("Neon refused the API token (HTTP 401")
          .doesNotContain("canary-wrong-token-77");

      CliProcess.Result tokenInUri = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--at", at.toString(),
          "--to", "neon://proud-pine-123/br-main-1?token=canary-in-uri-1");
      assertThat(tokenInUri.exit()).isNotZero();
      assertThat(tokenInUri.err()).contains("never holds the token").doesNotContain("canary-in-uri-1");

      CliProcess.Result noTime = CliProcess.run(ENV, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "trpg", "--to", uri);
      assertThat(noTime.exit()).isNotZero();
      assertThat(noTime.err()).contains("give --at");
      assertNoToken(noTime);
    }
  }

  @Test
  void aRecoveryFileRestoresASupabaseDatabaseThroughItsProvider() throws Exception {
    Instant latest = Instant.now().minusSeconds(60);
    try (SupabaseApiDouble supabase = new SupabaseApiDouble(TOKEN, "abcdefghijklmnop", true,
        latest.minus(7, ChronoUnit.DAYS), latest)) {
      Path marker = tmp.resolve("writers");
      Path recovery = Files.writeString(tmp.resolve("recovery.yaml"), String.join("\n",
          "name: trpg",
          "repository: file:" + tmp.resolve("repo"),
          "steps:",
          "  - name: stop-writers",
          "    command: [sh, -c, 'echo stopped > " + marker + "']",
          "  - name: restore-database",
          "    restore: {to: \"supabase://abcdefghijklmnop?tokenEnv=PROVIDER_TOKEN&pollEvery=PT0.05S&api="
              + supabase.endpoint() + "\"}",
          "    timeout: PT2M",
          ""));
      Instant at = latest.minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);

      CliProcess.Result noTime = CliProcess.run(ENV, "recover", "--insecure-unsigned", "--config", recovery.toString(), "--dry-run");
      assertThat(noTime.exit()).isEqualTo(Main.USAGE);
      assertThat(noTime.err()).contains("step restore-database", "needs the point in time to go back to (--at)");

      CliProcess.Result dry = CliProcess.run(ENV, "recover", "--insecure-unsigned", "--config", recovery.toString(), "--dry-run", "--at",
          at.toString());
      assertThat(dry.exit()).as(dry.err()).isZero();
      assertThat(dry.out()).contains("restore supabase project abcdefghijklmnop to " + at + " through the provider");
      assertThat(supabase.restores()).isEmpty();
      assertThat(marker).doesNotExist();

      CliProcess.Result run = CliProcess.run(ENV, "recover", "--insecure-unsigned", "--config", recovery.toString(), "--at", at.toString(),
          "--json");
      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.out()).contains("\"outcome\" : \"recovered\"", "\"restoredTo\" : \"" + at + "\"");
      assertThat(supabase.restores()).singleElement()
          .satisfies(b -> assertThat(b.path("recovery_time_target_unix").asLong()).isEqualTo(at.getEpochSecond()));
      assertThat(marker).exists();
      assertNoToken(run);
    }
  }
}
