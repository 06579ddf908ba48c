package dev.savepoint.examples.spring;

import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * {@code bash scripts/demo.sh spring}: the example application on a throwaway PostgreSQL with generated TRPG data,
 * tiers 1 and 2 every 10 seconds for half a minute; prints what the actuator says and writes the status page to
 * {@code savepoint-demo/spring/status.html}.
 */
public final class SpringDemo {
  private SpringDemo() {}

  public static void main(String[] args) throws Exception {
    TestPostgres pg = TestPostgres.shared();
    String db = pg.createDatabase("savepoint_spring_demo");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 5);
    }
    Path out = Files.createDirectories(Path.of("savepoint-demo", "spring")).toAbsolutePath();
    System.setProperty("DATABASE_URL", "jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/" + db);
    System.setProperty("BACKUP_DIR", out.resolve("repo").toString());
    System.setProperty("BACKUP_PASSPHRASE", "demo-" + java.util.UUID.randomUUID());
    System.setProperty("DRILL_SERVER", pg.url("postgres"));
    System.setProperty("TIER1_SCHEDULE", "*/10 * * * * *");
    System.setProperty("TIER2_SCHEDULE", "5/10 * * * * *");
    Path uploads = Files.createDirectories(out.resolve("uploads"));
    Files.writeString(uploads.resolve("map-of-the-sunken-keep.txt"), "a map");
    System.setProperty("UPLOADS_SOURCE", "file:" + uploads); // the demo's uploads: a directory, not a bucket
    System.setProperty("server.port", "0");
    try (ConfigurableApplicationContext app = SpringApplication.run(TrpgBackupApplication.class, args)) {
      String base = "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
      System.out.println("application up at " + base + "; backing up tier 1 and tier 2 every 10 s for 30 s ...");
      Thread.sleep(30_000);
      HttpClient http = HttpClient.newHttpClient();
      for (String path : new String[] {"/actuator/health", "/actuator/savepoint"}) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
            HttpResponse.BodyHandlers.ofString());
        System.out.println("GET " + path + " -> " + r.statusCode() + "\n" + r.body());
      }
      HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(base + "/actuator/savepoint/html")).build(),
          HttpResponse.BodyHandlers.ofString());
      Files.writeString(out.resolve("status.html"), page.body());
      System.out.println("status page: " + out.resolve("status.html"));
    } finally {
      pg.dropDatabase(db);
    }
  }
}
