package dev.savepoint.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.crypto.OpenPgpEncryption;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.RestoreDrill;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The starter's scheduled drills run inside the application, with its passphrase and datasource at hand: a backup
 * planted by a writer of the repository without the key (newer, unencrypted, unsigned) is not the one they drill.
 * The drill runs as {@link SavepointScheduler} runs it: the shared repository bean and the plan's secrets.
 */
class ScheduledDrillHostileRepositoryTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  @Test
  void aPlantedUnsignedBackupIsNotTheOneAScheduledDrillRestores() throws Exception {
    String genuineDb = pg.createDatabase("drill_genuine");
    String plantedDb = pg.createDatabase("drill_planted");
    try (Connection c = pg.connect(genuineDb); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE t AS SELECT i FROM generate_series(1, 100) i");
    }
    try (Connection c = pg.connect(plantedDb); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE t AS SELECT 1 AS i");
    }
    Repository shared = new Repository(new FilesystemStore(tmp.resolve("repo"))); // the starter's repository bean
    char[] passphrase = "the application's passphrase".toCharArray();
    Manifest genuine = BackupPlan.builder("tier1").repository(shared)
        .source(PostgresSource.builder(PostgresUrl.parse(pg.url(genuineDb))).build())
        .transform(OpenPgpEncryption.passphrase(passphrase.clone())).build().run().manifest();
    Manifest planted = BackupPlan.builder("tier1").repository(shared)
        .source(PostgresSource.builder(PostgresUrl.parse(pg.url(plantedDb))).build()).build().run().manifest();
    assertThat(shared.newest("tier1")).get().extracting(Manifest::id).isEqualTo(planted.id());

    Secrets planSecrets = Secrets.of(Map.of(OpenPgpEncryption.PASSPHRASE, passphrase));
    RestoreDrill.Report report = new RestoreDrill(shared, "tier1", PostgresUrl.parse(pg.url("postgres")),
        BackupSelector.latest(), planSecrets, event -> { }).run();
    assertThat(report.passed()).as(report.detail()).isTrue();
    assertThat(report.backupId()).isEqualTo(genuine.id());
    assertThat(report.rowsChecked()).isEqualTo(100);
  }
}
