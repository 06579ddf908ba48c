package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.savepoint.testkit.TestS3Server;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The CLI against a real S3-compatible server over HTTP: 1 GiB of unknown length with a 128 MiB heap. */
class CliS3Test {
  static final TestS3Server server = TestS3Server.shared();

  @Test
  void oneGibibyteToS3WithBoundedHeapAndBack() throws Exception {
    String bucket = server.createBucket("cli");
    String repo = "s3://" + bucket + "/backups?region=us-east-1&pathStyle=true&endpoint=" + server.endpoint();
    Map<String, String> env = Map.of("AWS_ACCESS_KEY_ID", server.accessKey(), "AWS_SECRET_ACCESS_KEY", server.secretKey(),
        "AWS_EC2_METADATA_DISABLED", "true");
    long size = 1L << 30;
    ProcessBuilder pb = CliProcess.builder("128m", "backup", "--insecure-unsigned", "--repo", repo, "--plan", "big", "--source", "-",
        "--compress", "none");
    pb.environment().putAll(env);
    Process backup = pb.start();
    MessageDigest sent = MessageDigest.getInstance("SHA-256");
    try (OutputStream stdin = backup.getOutputStream()) {
      byte[] block = new byte[1 << 20];
      Random r = new Random(3);
      for (long written = 0; written < size; written += block.length) {
        r.nextBytes(block);
        stdin.write(block);
        sent.update(block);
      }
    }
    CliProcess.Result b = CliProcess.finish(backup);
    assertThat(b.exit()).as(b.err()).isZero();

    CliProcess.Result list = CliProcess.run(env, "list", "--repo", repo, "--json");
    assertThat(list.exit()).as(list.err()).isZero();
    assertThat(new ObjectMapper().readTree(list.out()).get(0).get("rawBytes").asLong()).isEqualTo(size);

    ProcessBuilder rb = CliProcess.builder("128m", "restore", "--insecure-unsigned", "--repo", repo, "--plan", "big", "--to", "-");
    rb.environment().putAll(env);
    CliProcess.Digested restore = CliProcess.digestStdout(rb.start());
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(restore.bytes()).isEqualTo(size);
    assertThat(restore.sha256()).isEqualTo(sent.digest());
  }

  @Test
  void uploadsBucketBackupAndSyncBackToADirectory() throws Exception {
    String app = server.createBucket("uploads");
    software.amazon.awssdk.services.s3.S3Client client = dev.savepoint.s3.S3Store.client(server.endpoint(),
        server.region(), server.accessKey(), server.secretKey());
    client.putObject(r -> r.bucket(app).key("uploads/maps/a.png"),
        software.amazon.awssdk.core.sync.RequestBody.fromString("map"));
    Map<String, String> env = Map.of("AWS_ACCESS_KEY_ID", server.accessKey(), "AWS_SECRET_ACCESS_KEY", server.secretKey(),
        "AWS_EC2_METADATA_DISABLED", "true");
    String query = "?region=us-east-1&pathStyle=true&endpoint=" + server.endpoint();
    java.nio.file.Path repo = java.nio.file.Files.createTempDirectory("cli-s3-repo");
    CliProcess.Result backup = CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "uploads",
        "--source", "s3://" + app + "/uploads" + query);
    assertThat(backup.exit()).as(backup.err()).isZero();
    java.nio.file.Path dir = repo.resolveSibling(repo.getFileName() + "-restored");
    CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", "file:" + repo, "--plan", "uploads",
        "--to", "file:" + dir);
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(dir.resolve("maps/a.png")).hasContent("map");
  }
}
