package example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.crypto.OpenPgpEncryption;
import dev.savepoint.s3.S3Store;
import dev.savepoint.testkit.TestS3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a service's own test does: an encrypted backup into the test kit's S3 server, restored. */
class BackupToS3Test {
  @TempDir
  Path tmp;

  @Test
  void backsUpAndRestores() throws Exception {
    TestS3Server s3 = TestS3Server.shared();
    String bucket = s3.createBucket("consumer");
    Repository repository = new Repository(S3Store.builder(S3Store.client(s3.endpoint(), s3.region(),
        s3.accessKey(), s3.secretKey()), bucket).build());
    char[] passphrase = "correct horse battery staple".toCharArray();
    Manifest m = BackupPlan.builder("settings").repository(repository)
        .source(StreamSource.of("settings.json", ByteSource.wrap("{\"dice\":20}".getBytes())))
        .transform(Transforms.zstd()).transform(OpenPgpEncryption.passphrase(passphrase)).build().run().manifest();
    Path restored = tmp.resolve("settings.json");
    repository.restore(m, StreamTarget.file(restored),
        Secrets.of(Map.of(OpenPgpEncryption.PASSPHRASE, passphrase)));
    assertEquals("{\"dice\":20}", Files.readString(restored));
  }
}
