package dev.savepoint.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.Repository;
import dev.savepoint.spring.SavepointPlans;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The example application's own application.yaml, on a real database: the three tiers are scheduled and back up. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class TrpgBackupApplicationTest {
  static final TestPostgres pg = TestPostgres.shared();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) throws Exception {
    String db = pg.createDatabase("trpg_app");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    String repo = Files.createTempDirectory("trpg-app-backups").toString();
    registry.add("DATABASE_URL", () -> "jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/" + db);
    registry.add("BACKUP_DIR", () -> repo);
    registry.add("BACKUP_PASSPHRASE", () -> "example passphrase");
    registry.add("DRILL_SERVER", () -> pg.url("postgres"));
    registry.add("TIER1_SCHEDULE", () -> "*/2 * * * * *");
    registry.add("TIER2_SCHEDULE", () -> "*/2 * * * * *");
    // Uploads in a real S3 bucket (the test kit's S3 server; credentials from the SDK's default chain).
    dev.savepoint.testkit.TestS3Server s3 = dev.savepoint.testkit.TestS3Server.shared();
    String bucket = s3.createBucket("trpg-uploads");
    software.amazon.awssdk.services.s3.S3Client client = dev.savepoint.s3.S3Store.client(s3.endpoint(), s3.region(),
        s3.accessKey(), s3.secretKey());
    client.putObject(b -> b.bucket(bucket).key("maps/sunken-keep.png"),
        software.amazon.awssdk.core.sync.RequestBody.fromString("a map"));
    System.setProperty("aws.accessKeyId", s3.accessKey());
    System.setProperty("aws.secretAccessKey", s3.secretKey());
    registry.add("UPLOADS_SOURCE", () -> "s3://" + bucket + "/?region=" + s3.region() + "&endpoint=" + s3.endpoint()
        + "&pathStyle=true");
    registry.add("UPLOADS_SCHEDULE", () -> "*/2 * * * * *");
    registry.add("CONFIG_SCHEDULE", () -> "*/2 * * * * *");
  }

  @LocalServerPort
  int port;

  @Autowired
  SavepointPlans plans;

  @Autowired
  Repository repository;

  @Autowired
  io.micrometer.core.instrument.MeterRegistry registry;

  @Test
  void theTiersOfApplicationYamlRunAndReport() throws Exception {
    assertThat(plans.all()).containsOnlyKeys("trpg-tier1", "trpg-tier2", "trpg-tier3", "trpg-uploads",
        "trpg-config");
    java.util.List<String> scheduled = java.util.List.of("trpg-tier1", "trpg-tier2", "trpg-uploads", "trpg-config");
    Instant deadline = Instant.now().plusSeconds(60);
    while (scheduled.stream().anyMatch(this::none) && Instant.now().isBefore(deadline)) {
      Thread.sleep(250);
    }
    for (String plan : scheduled) {
      assertThat(repository.list(plan)).as(plan).isNotEmpty();
    }
    assertThat(repository.list("trpg-uploads").get(0).source().type()).isEqualTo("bucket");
    assertThat(repository.list("trpg-config").get(0).source().type()).isEqualTo("environment");
    HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/actuator/savepoint/html")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("id=\"plan-trpg-tier1\"", "id=\"plan-trpg-tier2\"");
    // The savepoint health group holds every plan (uploads and configuration too); the application's own health is
    // UP whatever the backups' state.
    HttpResponse<String> group = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/actuator/health/savepoint")).build(),
        HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(group.body()).contains("\"trpg-uploads\":{\"newestBackup\":", "\"trpg-config\":{");
    assertThat(registry.get("savepoint.backup.last.success").tag("plan", "trpg-uploads").gauge().value()).isPositive();
    assertThat(registry.get("savepoint.plan.rpo").tag("plan", "trpg-uploads").gauge().value()).isEqualTo(86400);
  }

  private boolean none(String plan) {
    try {
      return repository.list(plan).isEmpty();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
