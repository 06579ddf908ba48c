package example;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Transforms;
import dev.savepoint.crypto.OpenPgpEncryption;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.s3.S3Store;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TestS3Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The README's "Testing your own code with the test kit" example, as written there (ConsumerProjectTest runs it). */
class NightlyBackupTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();   // a throwaway server; skipped where none can start (fails with CI=true)

  @Test
  void backsUpToS3() throws Exception {
    String db = pg.createDatabase("app");           // pg.connect(db) for JDBC, pg.url(db) for Savepoint
    TestS3Server s3 = TestS3Server.shared();         // needs org.gaul:s3proxy (test scope; version from the BOM)
    String bucket = s3.createBucket("backups");
    Repository repo = new Repository(S3Store.builder(S3Store.client(s3.endpoint(), s3.region(), s3.accessKey(),
        s3.secretKey()), bucket).build());
    BackupPlan.builder("app").source(PostgresSource.builder(PostgresUrl.parse(pg.url(db))).build())
        .transform(Transforms.zstd()).transform(OpenPgpEncryption.passphrase("test".toCharArray()))
        .repository(repo).build().run();
  }
}
