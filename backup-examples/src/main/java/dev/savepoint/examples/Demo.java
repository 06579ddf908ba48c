package dev.savepoint.examples;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.VerificationResult;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.Stores;
import dev.savepoint.crypto.OpenPgpEncryption;
import dev.savepoint.postgres.PostgresFacts;
import dev.savepoint.postgres.PostgresTarget;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.RestoreDrill;
import dev.savepoint.s3.S3Store;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TestS3Server;
import dev.savepoint.testkit.TrpgDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;

/**
 * The one-command demo ({@code bash scripts/demo.sh}): back up a generated tabletop-RPG database (compressed and
 * OpenPGP-encrypted) into a local repository, copy it to an S3 bucket on an in-process S3-compatible server,
 * verify it there, restore it into a new database, run a restore drill and print what happened. Uses the server of
 * {@code DATABASE_URL} if set (a new database is created on it and dropped afterwards), else a throwaway
 * PostgreSQL cluster.
 */
public final class Demo {
  public static void main(String[] args) {
    try {
      run(args);
      System.exit(0); // the in-process S3 server's threads would keep the JVM alive
    } catch (Exception e) {
      System.err.println("demo failed: " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    int scale = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    String env = System.getenv("DATABASE_URL");
    PostgresUrl server = env != null && !env.isBlank() ? PostgresUrl.parse(env)
        : PostgresUrl.parse(TestPostgres.shared().url("postgres"));
    String dbName = "savepoint_demo_" + Long.toHexString(System.nanoTime());
    PostgresUrl database = server.withDatabase(dbName);
    try (Connection c = server.withDatabase("postgres").connect(); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + dbName + " TEMPLATE template0 ENCODING 'UTF8'");
    }
    String restoredName = dbName + "_restored";
    try {
      long t0 = System.nanoTime();
      try (Connection c = database.connect()) {
        TrpgDatabase.create(c, scale);
      }
      System.out.printf("generated TRPG database %s at scale %d in %.1f s%n", database, scale, secondsSince(t0));

      Path repoDir = Path.of("savepoint-demo", "repo").toAbsolutePath();
      Repository repository = new Repository(Stores.filesystem(repoDir));
      // The demo's passphrase is kept next to its repository (mode 0600), so the README's next commands can read
      // the backups; production reads it from a secret store.
      Path passphraseFile = repoDir.resolveSibling("passphrase");
      if (!java.nio.file.Files.exists(passphraseFile)) {
        java.nio.file.Files.createDirectories(repoDir.getParent());
        java.nio.file.Files.writeString(passphraseFile, "demo-" + java.util.UUID.randomUUID());
        java.nio.file.Files.setPosixFilePermissions(passphraseFile,
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      }
      char[] passphrase = java.nio.file.Files.readString(passphraseFile).strip().toCharArray();
      // The key material is given once: restores, full verification and drills through these repositories use it.
      Secrets secrets = Secrets.of(Map.of(OpenPgpEncryption.PASSPHRASE, passphrase));
      BackupPlan plan = TrpgPlans.tier1(database, repository, OpenPgpEncryption.passphrase(passphrase));
      Manifest m = plan.run().manifest();
      System.out.printf("backup   %s of plan %s: %,d raw bytes -> %,d stored bytes (zstd + OpenPGP AES-256) in %.1f s%n", m.id(),
          m.plan(), m.rawBytes(), m.storedBytes(), m.duration().toMillis() / 1000.0);
      PostgresFacts backedUp = PostgresFacts.of(m);
      System.out.printf("         snapshot %s, server %s, row counts %s%n", m.source().facts().get("snapshot"),
          backedUp.serverVersion(), backedUp.rowCounts());

      // Second copy in an S3 bucket (an in-process S3-compatible server here; an AWS bucket in production).
      TestS3Server s3 = TestS3Server.shared();
      String bucket = s3.createBucket("trpg-backups");
      Repository s3Repository = new Repository(Stores.standard(S3Store.builder(
          S3Store.client(s3.endpoint(), s3.region(), s3.accessKey(), s3.secretKey()), bucket).prefix("primary").build()));
      long c0 = System.nanoTime();
      repository.copyTo(m, s3Repository);
      System.out.printf("copy     to %s (digests checked on the way) in %.1f s%n", s3Repository.describe(),
          secondsSince(c0));

      for (VerificationResult r : s3Repository.withSecrets(secrets).verify(m, Verifiers.standard(true))) {
        System.out.printf("verify   %-13s %s  %s%n", r.check(), r.passed() ? "ok" : "FAILED", r.detail());
        if (!r.passed()) {
          throw new IllegalStateException("verification failed: " + r.detail());
        }
      }

      Repository keyed = repository.withSecrets(secrets);
      Repository.RestoreResult restored = keyed.restore(m,
          PostgresTarget.builder(server.withDatabase(restoredName)).check("SELECT count(*) FROM users",
              Long.toString(100L * scale)).build());
      System.out.printf("restore  into %s: %d tables, %d rows checked against the manifest in %.1f s%n",
          restored.target(), restored.tablesChecked().orElse(0), restored.rowsChecked().orElse(0),
          restored.duration().toMillis() / 1000.0);

      RestoreDrill.Report drill = new RestoreDrill(keyed, plan.name(), server, BackupSelector.latest()).run();
      System.out.printf("drill    %s: %s, %d rows checked, restore took %.1f s (report stored with the backup)%n",
          drill.backupId(), drill.passed() ? "PASSED" : "FAILED", drill.rowsChecked(), drill.restoreMillis() / 1000.0);
      System.out.printf("repository: %s%n", repoDir);
      System.out.printf("try: java -jar backup-cli/target/savepoint.jar list --repo file:%s --json%n", repoDir);
      System.out.printf("     export DEMO_PASSPHRASE=\"$(cat %s)\"; java -jar backup-cli/target/savepoint.jar verify "
          + "--repo file:%s --plan %s --full --passphrase-env DEMO_PASSPHRASE%n", passphraseFile, repoDir, plan.name());
      if (!drill.passed()) {
        throw new IllegalStateException("drill failed: " + drill.detail());
      }
    } finally {
      try (Connection c = server.withDatabase("postgres").connect(); Statement s = c.createStatement()) {
        s.execute("DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)");
        s.execute("DROP DATABASE IF EXISTS " + restoredName + " WITH (FORCE)");
      }
    }
  }

  private static double secondsSince(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
