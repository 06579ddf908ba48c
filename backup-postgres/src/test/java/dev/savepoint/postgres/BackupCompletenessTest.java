package dev.savepoint.postgres;

import static dev.savepoint.postgres.PostgresBackupRestoreTest.count;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A backup holds every row the database holds, or fails with one line and stores nothing: row-level security,
 * privileges, partitions at any depth and inheritance children never make it silently smaller.
 */
class BackupCompletenessTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  static String rls;
  static String parts;

  @TempDir
  Path tmp;

  @BeforeAll
  static void createDatabases() throws SQLException {
    rls = pg.createDatabase("rls");
    try (Connection c = pg.connect(rls); Statement s = c.createStatement()) {
      for (String role : List.of("sp_app_owner", "sp_backup_ro", "sp_backup_bypass", "sp_backup_partial")) {
        pg.ensureRole(role);
      }
      s.execute("ALTER ROLE sp_backup_bypass BYPASSRLS");
      s.execute("ALTER ROLE sp_backup_partial BYPASSRLS");
      s.execute("CREATE TABLE profiles (id int PRIMARY KEY, tenant text, v text)");
      s.execute("INSERT INTO profiles SELECT i, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END, md5(i::text) "
          + "FROM generate_series(1, 1000) i");
      s.execute("ALTER TABLE profiles ENABLE ROW LEVEL SECURITY");
      s.execute("CREATE POLICY tenant_a ON profiles USING (tenant = 'a')");
      s.execute("ALTER TABLE profiles OWNER TO sp_app_owner");
      s.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)");
      s.execute("INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 100) i");
      s.execute("CREATE TABLE audit_secrets (id int PRIMARY KEY)");
      s.execute("INSERT INTO audit_secrets SELECT generate_series(1, 10)");
      s.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO sp_app_owner, sp_backup_ro, sp_backup_bypass");
      s.execute("GRANT SELECT ON profiles, notes TO sp_backup_partial");
    }
    parts = pg.createDatabase("partitions");
    try (Connection c = pg.connect(parts); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE users (id int PRIMARY KEY, name text)");
      s.execute("INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 50) i");
      // Range partitions, one of them list-partitioned again with a default partition.
      s.execute("CREATE TABLE chat (id int, at date, region text, body text) PARTITION BY RANGE (at)");
      s.execute("CREATE TABLE chat_2025 PARTITION OF chat FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
      s.execute("CREATE TABLE chat_2026 PARTITION OF chat FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') "
          + "PARTITION BY LIST (region)");
      s.execute("CREATE TABLE chat_2026_eu PARTITION OF chat_2026 FOR VALUES IN ('eu')");
      s.execute("CREATE TABLE chat_2026_rest PARTITION OF chat_2026 DEFAULT");
      s.execute("INSERT INTO chat SELECT i, date '2025-06-01' + (i % 400), CASE WHEN i % 3 = 0 THEN 'eu' ELSE 'us' END, "
          + "'line ' || i FROM generate_series(1, 1000) i");
      s.execute("CREATE TABLE events (id int, kind text) PARTITION BY HASH (id)");
      for (int i = 0; i < 3; i++) {
        s.execute("CREATE TABLE events_" + i + " PARTITION OF events FOR VALUES WITH (MODULUS 3, REMAINDER " + i + ")");
      }
      s.execute("INSERT INTO events SELECT i, 'k' FROM generate_series(1, 300) i");
      // Two levels of inheritance, with rows at every level.
      s.execute("CREATE TABLE legacy (id int, v text)");
      s.execute("CREATE TABLE legacy_child (extra int) INHERITS (legacy)");
      s.execute("CREATE TABLE legacy_grandchild () INHERITS (legacy_child)");
      s.execute("INSERT INTO legacy SELECT i, 'p' FROM generate_series(1, 7) i");
      s.execute("INSERT INTO legacy_child SELECT i, 'c', i FROM generate_series(1, 11) i");
      s.execute("INSERT INTO legacy_grandchild SELECT i, 'g', i FROM generate_series(1, 13) i");
      s.execute("CREATE TABLE game_events (id int)"); // in no tier
    }
  }

  PostgresUrl url(String db) throws Exception {
    return PostgresUrl.parse(pg.url(db));
  }

  PostgresUrl url(String role, String db) throws Exception {
    return PostgresUrl.parse("postgresql://" + role + "@" + pg.host() + ":" + pg.port() + "/" + db);
  }

  Manifest backup(Repository repo, PostgresSource source) throws Exception {
    return BackupPlan.builder("db").source(source).transform(Transforms.zstd()).repository(repo)
        .verifier(Verifiers.presence(1)).build().run().manifest();
  }

  static String digest(String db, String table) throws SQLException {
    try (Connection c = pg.connect(db); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
            + " FROM " + table + " t")) {
      r.next();
      return r.getString(1);
    }
  }

  /** Roles x formats: every row backed up and restored, or a one-line failure and nothing stored. */
  @ParameterizedTest
  @EnumSource(PostgresSource.Format.class)
  void rowLevelSecurityAndPrivilegesNeverShrinkABackup(PostgresSource.Format format) throws Exception {
    record Case(String role, String force, boolean complete, String mentions) {}
    List<Case> cases = List.of(
        new Case("postgres", "NO FORCE", true, null),
        new Case("sp_app_owner", "NO FORCE", true, null),
        new Case("sp_app_owner", "FORCE", false, "\"public\".\"profiles\": row-level security hides rows from sp_app_owner"),
        new Case("sp_backup_ro", "NO FORCE", false, "\"public\".\"profiles\": row-level security hides rows from sp_backup_ro"),
        new Case("sp_backup_bypass", "NO FORCE", true, null),
        new Case("sp_backup_partial", "NO FORCE", false, "\"public\".\"audit_secrets\": no SELECT privilege"));
    String expected = digest(rls, "profiles");
    assertThat(expected).startsWith("1000:");
    for (Case k : cases) {
      pg.execute(rls, "ALTER TABLE profiles " + k.force() + " ROW LEVEL SECURITY");
      Path dir = tmp.resolve(format + "-" + k.role() + "-" + k.force().replace(' ', '_'));
      Repository repo = new Repository(new FilesystemStore(dir));
      PostgresSource source = PostgresSource.builder(url(k.role(), rls)).format(format).build();
      if (k.complete()) {
        Manifest m = backup(repo, source);
        assertThat(m.source().facts()).as(k.toString()).containsEntry("role", k.role())
            .containsEntry("rowSecurity", "off");
        String restored = "rls_restored_" + System.nanoTime();
        repo.restore(m, PostgresTarget.builder(url(restored)).build(), Secrets.none());
        assertThat(digest(restored, "profiles")).as(k.toString()).isEqualTo(expected);
        assertThat(digest(restored, "audit_secrets")).as(k.toString()).isEqualTo(digest(rls, "audit_secrets"));
        pg.dropDatabase(restored);
      } else {
        assertThatThrownBy(() -> backup(repo, source)).as(k.toString()).isInstanceOf(SourceException.class)
            .hasMessageContaining(k.mentions()).hasMessageContaining("BYPASSRLS")
            .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThat(repo.list("db")).as(k.toString()).isEmpty();
        try (var files = java.nio.file.Files.walk(dir)) {
          assertThat(files.filter(java.nio.file.Files::isRegularFile)).as("nothing stored for %s", k).isEmpty();
        }
        // The preflight alone says the same, without backing anything up.
        assertThat(source.scope().unreadable()).as(k.toString()).contains(k.mentions());
      }
    }
    pg.execute(rls, "ALTER TABLE profiles NO FORCE ROW LEVEL SECURITY");
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"PLAIN", "PARALLEL"})
  void aNamedTableMeansEveryPartitionAndChildAtAnyDepth(PostgresSource.Format format) throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = backup(repo, PostgresSource.builder(url(parts)).format(format)
        .table("users", "chat", "events", "legacy").build());
    Map<?, ?> counts = (Map<?, ?>) m.source().facts().get("tableRowCounts");
    assertThat(counts.keySet()).extracting(Object::toString).containsExactlyInAnyOrder(
        "\"public\".\"users\"", "\"public\".\"chat_2025\"", "\"public\".\"chat_2026_eu\"", "\"public\".\"chat_2026_rest\"",
        "\"public\".\"events_0\"", "\"public\".\"events_1\"", "\"public\".\"events_2\"", "\"public\".\"legacy\"",
        "\"public\".\"legacy_child\"", "\"public\".\"legacy_grandchild\"");
    try (Connection c = pg.connect(parts)) {
      for (Map.Entry<?, ?> e : counts.entrySet()) {
        assertThat(((Number) e.getValue()).longValue()).as("%s", e.getKey()).isEqualTo(count(c, "ONLY " + e.getKey()));
      }
    }
    assertThat((Map<Object, Object>) m.source().facts().get("namedTables")).containsKey("chat");

    String restored = "parts_restored_" + System.nanoTime();
    Map<String, Object> facts = repo.restore(m, PostgresTarget.builder(url(restored)).build(), Secrets.none()).facts();
    assertThat((Map<Object, Object>) facts.get("namedTableRows")).containsEntry("chat", 1000L).containsEntry("events", 300L)
        .containsEntry("legacy", 31L);
    for (String table : List.of("users", "chat", "chat_2026_eu", "events", "events_2", "legacy", "ONLY legacy",
        "ONLY legacy_child", "legacy_grandchild")) {
      assertThat(digest(restored, table)).as(table).isEqualTo(digest(parts, table));
    }
    assertThat(digest(restored, "game_events")).isEqualTo("0:" + digest(restored, "game_events").substring(2));
    pg.dropDatabase(restored);
  }

  @Test
  void aPartitionAddedBetweenTwoBackupsIsInTheSecond() throws Exception {
    String db = pg.createDatabase("growing");
    pg.execute(db, "CREATE TABLE chat (id int, at date) PARTITION BY RANGE (at)");
    pg.execute(db, "CREATE TABLE chat_2026 PARTITION OF chat FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
    pg.execute(db, "INSERT INTO chat SELECT i, date '2026-03-01' FROM generate_series(1, 10) i");
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    PostgresSource source = PostgresSource.builder(url(db)).format(PostgresSource.Format.PARALLEL).table("chat").build();
    Manifest first = backup(repo, source);
    pg.execute(db, "CREATE TABLE chat_2027 PARTITION OF chat FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')");
    pg.execute(db, "INSERT INTO chat SELECT i, date '2027-01-05' FROM generate_series(1, 5) i");
    Manifest second = backup(repo, source);
    assertThat((Map<Object, Object>) first.source().facts().get("tableRowCounts")).hasSize(1);
    assertThat((Map<Object, Object>) second.source().facts().get("tableRowCounts"))
        .containsEntry("\"public\".\"chat_2027\"", 5L).hasSize(2);
    pg.dropDatabase(db);
  }

  @Test
  void onlyOptOutTypoAndScopeExplanation() throws Exception {
    PostgresSource only = PostgresSource.builder(url(parts)).tableOnly("legacy").excludeTableData("chat").build();
    BackupScope scope = only.scope();
    assertThat(scope.copied()).containsExactly("\"public\".\"legacy\"");
    assertThat(scope.schemaOnly()).contains("\"public\".\"legacy_child\"", "\"public\".\"chat_2025\"",
        "\"public\".\"game_events\"");
    assertThat(scope.unreadable()).isEmpty();
    assertThat(scope.role()).isEqualTo("postgres");
    // excludeTableData follows partitions too, in a whole-database backup.
    BackupScope whole = PostgresSource.builder(url(parts)).excludeTableData("chat").excludeTable("events").build().scope();
    assertThat(whole.copied()).contains("\"public\".\"users\"", "\"public\".\"legacy_child\"")
        .doesNotContain("\"public\".\"chat_2025\"", "\"public\".\"chat_2026_eu\"", "\"public\".\"events_1\"");
    assertThat(whole.excluded()).contains("\"public\".\"events\"", "\"public\".\"events_0\"");

    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = backup(repo, only);
    assertThat((Map<Object, Object>) m.source().facts().get("tableRowCounts")).isEqualTo(Map.of("\"public\".\"legacy\"", 7L));

    assertThatThrownBy(() -> backup(repo, PostgresSource.builder(url(parts)).table("user").build()))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("table 'user'");
    assertThat(repo.list("db")).hasSize(1);
  }
}
