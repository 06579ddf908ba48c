package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Connection options in the URL reach both the JDBC connections and pg_dump/psql/pg_restore, and an option
 * Savepoint does not know is an error: a dropped {@code sslmode} would be a silent TLS downgrade.
 */
class ConnectionOptionsTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  static void openssl(Path dir, String... args) throws Exception {
    Process p = new ProcessBuilder(List.of(args)).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }

  /** A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl command. */
  static void certificates(Path dir, String ca) throws Exception {
    openssl(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + ca,
        "-keyout", ca + ".key", "-out", ca + ".crt");
  }

  void sql(String... statements) throws Exception {
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }

  String url(String db, String options) {
    return pg.url(db) + "?" + options;
  }

  void backup(String url) throws Exception {
    BackupPlan.builder("db").source(PostgresSource.builder(PostgresUrl.parse(url)).build())
        .repository(new Repository(new FilesystemStore(tmp.resolve("repo")))).verifier(Verifiers.presence(1))
        .build().run();
  }

  @Test
  void tlsModesAreHonouredByJdbcAndTheTools() throws Exception {
    String db = pg.createDatabase("tls");
    sql("ALTER SYSTEM RESET ssl", "SELECT pg_reload_conf()");
    assertThatThrownBy(() -> backup(url(db, "sslmode=require"))).isInstanceOf(SourceException.class)
        .hasMessageContaining("SSL");

    Path dir = Files.createDirectories(tmp.resolve("tls"));
    certificates(dir, "right-ca");
    certificates(dir, "wrong-ca");
    openssl(dir, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
        "-out", "server.csr");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(dir, "openssl", "x509", "-req", "-in", "server.csr", "-CA", "right-ca.crt", "-CAkey", "right-ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt");
    // The server (running as postgres when the tests run as root) must own its key, mode 0600.
    if ("root".equals(System.getProperty("user.name"))) {
      UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
      for (Path p : List.of(dir, dir.resolve("server.key"), dir.resolve("server.crt"))) {
        Files.setOwner(p, postgres);
      }
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.setPosixFilePermissions(dir.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));
    try {
      sql("ALTER SYSTEM SET ssl_cert_file = '" + dir.resolve("server.crt") + "'",
          "ALTER SYSTEM SET ssl_key_file = '" + dir.resolve("server.key") + "'",
          "ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()");
      Thread.sleep(500);
      assertThatThrownBy(() -> backup(url(db, "sslmode=verify-full&sslrootcert=" + dir.resolve("wrong-ca.crt"))))
          .isInstanceOf(SourceException.class);
      backup(url(db, "sslmode=verify-full&sslrootcert=" + dir.resolve("right-ca.crt")));
      // pg_dump got the same settings: with the wrong CA in its environment only, it refuses too.
      PostgresUrl wrongForTools = PostgresUrl.parse(url(db, "sslmode=verify-full&sslrootcert=" + dir.resolve("wrong-ca.crt")));
      assertThat(wrongForTools.toolEnvironment()).containsEntry("PGSSLMODE", "verify-full")
          .containsEntry("PGSSLROOTCERT", dir.resolve("wrong-ca.crt").toString());
      Process dump = dev.savepoint.postgres.internal.PgTools.start(List.of(
          dev.savepoint.postgres.internal.PgTools.find("pg_dump", 15), "--schema-only"), wrongForTools);
      dump.getOutputStream().close();
      String err = new String(dump.getErrorStream().readAllBytes());
      assertThat(dump.waitFor()).as(err).isNotZero();
      assertThat(err).contains("certificate");
    } finally {
      sql("ALTER SYSTEM RESET ssl", "ALTER SYSTEM RESET ssl_cert_file", "ALTER SYSTEM RESET ssl_key_file",
          "SELECT pg_reload_conf()");
    }
  }

  @Test
  void unknownOptionsAndBadValuesAreRefused() throws Exception {
    for (String port : new String[] {"99999", "abc", "0"}) {
      assertThatThrownBy(() -> PostgresUrl.parse("postgresql://app@db:" + port + "/x")).as(port)
          .isInstanceOf(ConfigurationException.class).hasMessageContaining("has a port that is not a number")
          .hasMessageContaining("1 to 65535").hasMessageNotContaining("'" + port); // it may be half a password
    }
    assertThat(PostgresUrl.parse("postgresql://app@[::1]:5433/x").port()).isEqualTo(5433);
    assertThatThrownBy(() -> PostgresUrl.parse("postgresql://app@db/x?ssl=true")).isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("unsupported PostgreSQL connection option 'ssl'").hasMessageContaining("sslmode");
    assertThatThrownBy(() -> PostgresUrl.parse("postgresql://app@db/x?sslmode=verify_full"))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("verify-full");
    PostgresUrl url = PostgresUrl.parse("postgresql://app@db/x?application_name=nightly&connect_timeout=3"
        + "&target_session_attrs=read-write&options=-c%20statement_timeout%3D0");
    assertThat(url.toolEnvironment()).containsEntry("PGAPPNAME", "nightly").containsEntry("PGCONNECT_TIMEOUT", "3")
        .containsEntry("PGTARGETSESSIONATTRS", "read-write").containsEntry("PGOPTIONS", "-c statement_timeout=0");
    assertThat(url.withDatabase("y").toolEnvironment()).containsEntry("PGAPPNAME", "nightly");
  }

  @Test
  void databaseNamesWithSlashesAndPercentSignsConnect() throws Exception {
    String odd = "a%2Fb/c d_" + System.nanoTime();
    sql("CREATE DATABASE \"" + odd + "\"");
    try (Connection c = PostgresUrl.parse(pg.url("x")).withDatabase(odd).connect()) {
      assertThat(PostgresSource.single(c, "SELECT current_database()")).isEqualTo(odd);
    }
    pg.dropDatabase(odd);
  }
}
