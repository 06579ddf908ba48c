package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliEncryptionTest {
  @TempDir
  Path tmp;

  @Test
  void passphraseFromEnvironmentEncryptsAndNeverLeaks() throws Exception {
    String canary = "canary-" + System.nanoTime();
    byte[] data = new byte[300_000];
    new Random(1).nextBytes(data);
    Path file = Files.write(tmp.resolve("dump.sql"), data);
    String repo = "file:" + tmp.resolve("repo");
    Map<String, String> env = Map.of("BACKUP_PASSPHRASE", canary, "WRONG", "not-it");

    CliProcess.Result backup = CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--source", "file:" + file,
        "--encrypt-passphrase-env", "BACKUP_PASSPHRASE", "--verbose");
    assertThat(backup.exit()).as(backup.err()).isZero();
    assertThat(backup.out() + backup.err()).doesNotContain(canary);
    try (Stream<Path> files = Files.walk(tmp.resolve("repo"))) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        assertThat(new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.ISO_8859_1))
            .as(p.toString()).doesNotContain(canary);
      }
    }

    CliProcess.Result noKey = CliProcess.run(env, "verify", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--full");
    assertThat(noKey.exit()).isEqualTo(2);
    assertThat(noKey.err()).contains("--passphrase-env");

    CliProcess.Result wrong = CliProcess.run(env, "verify", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--full",
        "--passphrase-env", "WRONG");
    assertThat(wrong.exit()).isEqualTo(2);
    assertThat(wrong.err()).contains("wrong passphrase").doesNotContain("not-it");

    CliProcess.Result ok = CliProcess.run(env, "verify", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--full",
        "--passphrase-env", "BACKUP_PASSPHRASE");
    assertThat(ok.exit()).as(ok.err()).isZero();

    Path out = tmp.resolve("restored.sql");
    CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--to", "file:" + out,
        "--passphrase-env", "BACKUP_PASSPHRASE");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(out).hasBinaryContent(data);
  }

  @Test
  void kmsEnvelopeEncryptionThroughTheCliAgainstAKmsDouble() throws Exception {
    try (dev.savepoint.testkit.FakeKmsServer kms = new dev.savepoint.testkit.FakeKmsServer()) {
      Map<String, String> env = Map.of("AWS_ENDPOINT_URL_KMS", kms.endpoint().toString(), "AWS_REGION", "us-east-1",
          "AWS_ACCESS_KEY_ID", "test", "AWS_SECRET_ACCESS_KEY", "test", "AWS_EC2_METADATA_DISABLED", "true");
      Path file = Files.writeString(tmp.resolve("dump.sql"), "CREATE TABLE users ();\n".repeat(1000));
      String repo = "file:" + tmp.resolve("repo");
      CliProcess.Result backup = CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--source", "file:" + file,
          "--kms-key-id", "alias/trpg");
      assertThat(backup.exit()).as(backup.err()).isZero();
      Path out = tmp.resolve("out.sql");
      CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--to", "file:" + out);
      assertThat(restore.exit()).as(restore.err()).isZero();
      assertThat(out).hasSameTextualContentAs(file);
      assertThat(kms.requests()).isEqualTo(2); // GenerateDataKey, Decrypt
    }
  }
}
