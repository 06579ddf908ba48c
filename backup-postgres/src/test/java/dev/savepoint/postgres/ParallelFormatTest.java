package dev.savepoint.postgres;

import static dev.savepoint.postgres.PostgresBackupRestoreTest.count;
import static dev.savepoint.postgres.PostgresBackupRestoreTest.schemaDump;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.internal.PgTools;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The {@link PostgresSource.Format#PARALLEL} format: per-table JDBC COPY in one snapshot, parallel restore. */
class ParallelFormatTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  static String trpg;

  @TempDir
  Path tmp;

  @BeforeAll
  static void createTrpg() throws SQLException {
    trpg = pg.createDatabase("trpg_parallel");
    try (Connection c = pg.connect(trpg); Statement s = c.createStatement()) {
      TrpgDatabase.create(c, 2);
      // Things only the schema archive carries: a large object and a sequence not owned by any table.
      s.execute("SELECT lo_from_bytea(0, '\\x00ff10'::bytea)");
      s.execute("CREATE SEQUENCE ticket_numbers START 1000");
      s.execute("SELECT nextval('ticket_numbers'), nextval('ticket_numbers')");
    }
  }

  PostgresUrl url(String db) throws Exception {
    return PostgresUrl.parse(pg.url(db));
  }

  Repository repo() throws Exception {
    return new Repository(new FilesystemStore(tmp.resolve("repo")));
  }

  static Manifest backup(Repository repo, PostgresSource source) throws Exception {
    return BackupPlan.builder("db").source(source).transform(Transforms.zstd()).repository(repo)
        .verifier(Verifiers.presence(1)).build().run().manifest();
  }

  PostgresSource.Builder parallel(String db) throws Exception {
    return PostgresSource.builder(url(db)).format(PostgresSource.Format.PARALLEL).jobs(3);
  }

  static Map<?, ?> counts(Manifest m) {
    return (Map<?, ?>) m.source().facts().get("tableRowCounts");
  }

  @Test
  void roundTripRestoresIdenticalSchemaDataSequencesAndLargeObjects() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, parallel(trpg).build());
    assertThat(m.source().facts()).containsEntry("format", "parallel").containsEntry("jobs", 3);
    assertThat(m.artifacts()).extracting(ArtifactRecord::name).contains("schema.dump")
        .anyMatch(n -> n.matches("data/\\d{4}-public\\.users\\.sql"));
    assertThat(m.artifacts().stream().filter(a -> a.name().startsWith("data/"))).as("one part per table")
        .hasSize(counts(m).size());
    // Each table's own indexes and keys, built as soon as its rows are in (the rest comes at the end).
    assertThat((Map<?, ?>) m.source().facts().get("tablePostData")).anySatisfy((table, entries) -> {
      assertThat(table.toString()).endsWith("-public.users");
      assertThat(entries).hasToString("[CONSTRAINT public users users_handle_key, CONSTRAINT public users users_pkey]");
    });
    // The manifest's counts (from COPY) equal count(*) in the source.
    try (Connection c = pg.connect(trpg)) {
      for (Map.Entry<?, ?> e : counts(m).entrySet()) {
        assertThat(((Number) e.getValue()).longValue()).as("%s", e.getKey()).isEqualTo(count(c, e.getKey().toString()));
      }
    }

    String restored = "restored_parallel_" + System.nanoTime();
    Map<String, Object> facts = repo.restore(m, PostgresTarget.builder(url(restored)).jobs(2)
        .check("SELECT count(*) FROM users", "200").build(), Secrets.none()).facts();
    assertThat(facts).containsEntry("tablesChecked", counts(m).size());
    assertSameDatabase(trpg, restored);
  }

  @Test
  void splitTablesRestoreWithSavepointAndWithoutUsingPgRestoreAndPsql() throws Exception {
    Repository repo = repo();
    // Small parts: large tables are split into several scripts, as tables over 128 MiB are by default.
    Manifest m = backup(repo, parallel(trpg).tablePartBytes(64 * 1024).build());
    assertThat(m.artifacts()).extracting(ArtifactRecord::name)
        .anyMatch(n -> n.matches("data/\\d{4}-public\\.chat_messages_2025\\.002\\.sql"));
    String splitRestore = "restored_split_" + System.nanoTime();
    repo.restore(m, PostgresTarget.builder(url(splitRestore)).build(), Secrets.none());
    assertSameDatabase(trpg, splitRestore);
    // The stored files as they are (zstd frames), copied out of the filesystem repository.
    Path dir = Files.createDirectories(tmp.resolve("manual"));
    for (ArtifactRecord a : m.artifacts()) {
      Path file = dir.resolve(a.key().substring(("db/" + m.id() + "/").length()));
      Files.createDirectories(file.getParent());
      Files.copy(tmp.resolve("repo").resolve(a.key()), file);
    }
    shell(dir, "for f in schema.dump.zst data/*.zst; do zstd -dq \"$f\" || exit 1; done");
    String manual = pg.createDatabase("manual_parallel");
    String conn = "-h " + pg.host() + " -p " + pg.port() + " -U postgres -d " + manual;
    String pgRestore = PgTools.find("pg_restore", 15);
    String psql = PgTools.find("psql", 15);
    // The README's "Recovery without Savepoint" commands for this format, with this server's connection options.
    shell(dir, pgRestore + " --section=pre-data --section=data --exit-on-error " + conn + " schema.dump");
    shell(dir, "for f in data/*.sql; do " + psql + " -X -q -v ON_ERROR_STOP=1 " + conn + " -f \"$f\" || exit 1; done");
    shell(dir, pgRestore + " --section=post-data --jobs=2 --exit-on-error " + conn + " schema.dump");
    assertSameDatabase(trpg, manual);
  }

  @Test
  void tierSelectionKeepsTheWholeSchemaAndOnlyTheTiersRows() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, parallel(trpg).table("users", "campaigns").build());
    assertThat(counts(m).keySet()).extracting(Object::toString)
        .containsExactlyInAnyOrder("\"public\".\"users\"", "\"public\".\"campaigns\"");
    String restored = "restored_tier_" + System.nanoTime();
    repo.restore(m, PostgresTarget.builder(url(restored)).check("SELECT count(*) FROM users", "200")
        .check("SELECT count(*) FROM chat_messages", "0").build(), Secrets.none());
    try (Connection a = pg.connect(trpg); Connection b = pg.connect(restored)) {
      assertThat(TrpgDatabase.tableDigests(b).get("public.users")).startsWith("200:")
          .isEqualTo(TrpgDatabase.tableDigests(a).get("public.users"));
    }
  }

  @Test
  void countsMatchExactlyWhileTheApplicationKeepsWriting() throws Exception {
    String db = pg.createDatabase("busy_parallel");
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE chat (id bigserial PRIMARY KEY, body text)");
      s.execute("CREATE TABLE dice (id bigserial PRIMARY KEY, roll int)");
      s.execute("INSERT INTO chat (body) SELECT repeat('x', 200) FROM generate_series(1, 50000)");
      s.execute("INSERT INTO dice (roll) SELECT g % 20 FROM generate_series(1, 50000) g");
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger written = new AtomicInteger();
    Thread writer = new Thread(() -> {
      try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
        while (!stop.get()) {
          // One transaction touching both tables: a restore must never show half of it.
          s.execute("BEGIN; INSERT INTO chat (body) VALUES ('roll'); INSERT INTO dice (roll) VALUES (7); COMMIT");
          written.incrementAndGet();
        }
      } catch (SQLException e) {
        throw new RuntimeException(e);
      }
    });
    writer.start();
    Manifest m;
    Repository repo = repo();
    try {
      Thread.sleep(200);
      m = backup(repo, parallel(db).build());
      Thread.sleep(200);
    } finally {
      stop.set(true);
      writer.join();
    }
    assertThat(written.get()).isGreaterThan(10);
    long chat = ((Number) counts(m).get("\"public\".\"chat\"")).longValue();
    long dice = ((Number) counts(m).get("\"public\".\"dice\"")).longValue();
    assertThat(chat).as("both tables were copied in one snapshot").isEqualTo(dice);
    try (Connection c = pg.connect(db)) {
      assertThat(count(c, "chat")).as("the live table moved on").isGreaterThan(chat);
    }
    repo.restore(m, PostgresTarget.builder(url("restored_busy_parallel_" + System.nanoTime()))
        .check("SELECT count(*) FROM chat", Long.toString(chat))
        .check("SELECT count(*) FROM dice", Long.toString(dice)).build(), Secrets.none());
  }

  @Test
  void aTableCopyKilledMidStreamFailsTheBackupAndLeavesNothing() throws Exception {
    String db = pg.createDatabase("killed_parallel");
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE big (id bigint, body text)");
      s.execute("INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 1500000) g");
      s.execute("CREATE TABLE small (id int)");
    }
    AtomicBoolean killed = new AtomicBoolean();
    Thread killer = new Thread(() -> {
      try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
        for (int i = 0; i < 3000 && !killed.get(); i++) {
          try (ResultSet r = s.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
              + "WHERE query LIKE 'COPY \"public\".\"big\"%TO STDOUT%'")) {
            r.next();
            killed.set(r.getInt(1) > 0);
          }
          Thread.sleep(5);
        }
      } catch (SQLException | InterruptedException e) {
        throw new RuntimeException(e);
      }
    });
    killer.start();
    Repository repo = repo();
    try {
      assertThatThrownBy(() -> backup(repo, parallel(db).build())).isInstanceOf(SourceException.class)
          .hasMessageContaining("copying table \"public\".\"big\"").hasMessageContaining("connection");
    } finally {
      killer.join();
    }
    assertThat(killed).isTrue();
    assertThat(repo.list("db")).isEmpty();
    assertThat(repo.store().list("")).isEmpty();
  }

  @Test
  void namesThePerTableScriptsCannotHoldAreRefusedAtBackupTime() throws Exception {
    String db = pg.createDatabase("odd_names");
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE \"two\nlines\" (id int)");
    }
    Repository repo = repo();
    assertThatThrownBy(() -> backup(repo, parallel(db).build())).isInstanceOf(SourceException.class)
        .hasMessageContaining("line break").hasMessageContaining("plain or custom format");
    assertThat(repo.store().list("")).isEmpty();
    // Without a chosen format, the backup falls back to pg_dump's plain format, which stores it.
    Manifest fallback = backup(repo, PostgresSource.builder(url(db)).build());
    assertThat(fallback.source().facts()).containsEntry("format", "plain");
    assertThat(fallback.artifacts()).extracting(ArtifactRecord::name).containsExactly("database.sql");
  }

  @Test
  void withoutAChosenFormatABackupUsesTheParallelOneAndRestoresLikeIt() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, PostgresSource.builder(url(trpg)).build());
    assertThat(m.source().facts()).containsEntry("format", "parallel");
    assertThat(m.artifacts()).extracting(ArtifactRecord::name).contains("schema.dump")
        .anyMatch(name -> name.startsWith("data/"));
    String target = "default_format_restored";
    repo.restore(m, PostgresTarget.builder(url(target)).build(), Secrets.none());
    try (Connection a = pg.connect(trpg); Connection b = pg.connect(target)) {
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(TrpgDatabase.tableDigests(a));
    }
  }

  @Test
  void aTamperedTableArtifactFailsTheRestoreAndDropsTheScratchDatabase() throws Exception {
    Repository repo = repo();
    Manifest m = backup(repo, parallel(trpg).build());
    ArtifactRecord users = m.artifacts().stream().filter(a -> a.name().endsWith("public.users.sql")).findFirst()
        .orElseThrow();
    byte[] stored;
    try (InputStream in = repo.store().get(users.key())) {
      stored = in.readAllBytes();
    }
    stored[stored.length / 2] ^= 0x01;
    repo.store().put(users.key(), ByteSource.wrap(stored));
    String target = "never_created_" + System.nanoTime();
    assertThatThrownBy(() -> repo.restore(m, PostgresTarget.builder(url(target)).build(), Secrets.none()))
        .isInstanceOf(IntegrityException.class).hasMessageContaining(users.name());
    try (Connection c = pg.connect("postgres")) {
      assertThat(count(c, "pg_database WHERE datname LIKE '" + target + "%'")).as("no target, no scratch").isZero();
    }
  }

  void assertSameDatabase(String expected, String actual) throws Exception {
    try (Connection a = pg.connect(expected); Connection b = pg.connect(actual)) {
      assertThat(TrpgDatabase.tableDigests(b)).isEqualTo(TrpgDatabase.tableDigests(a));
      for (String sql : List.of("SELECT last_value || '/' || is_called FROM ticket_numbers",
          "SELECT string_agg(encode(lo_get(oid), 'hex'), ',') FROM pg_largeobject_metadata")) {
        assertThat(PostgresSource.single(b, sql)).as(sql).isEqualTo(PostgresSource.single(a, sql));
      }
    }
    assertThat(schemaDump(actual)).isEqualTo(schemaDump(expected));
  }

  static void shell(Path dir, String command) throws Exception {
    Process p = new ProcessBuilder("bash", "-c", command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(command + "\n" + out).isZero();
  }
}
