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
  }

  @LocalServerPort
  int port;

  @Autowired
  SavepointPlans plans;

  @Autowired
  Repository repository;

  @Test
  void theTiersOfApplicationYamlRunAndReport() throws Exception {
    assertThat(plans.all()).containsOnlyKeys("trpg-tier1", "trpg-tier2", "trpg-tier3");
    Instant deadline = Instant.now().plusSeconds(60);
    while ((repository.list("trpg-tier1").isEmpty() || repository.list("trpg-tier2").isEmpty())
        && Instant.now().isBefore(deadline)) {
      Thread.sleep(250);
    }
    assertThat(repository.list("trpg-tier1")).isNotEmpty();
    assertThat(repository.list("trpg-tier2")).isNotEmpty();
    HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/actuator/savepoint/html")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("id=\"plan-trpg-tier1\"", "id=\"plan-trpg-tier2\"");
  }
}
