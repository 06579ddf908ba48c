package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The database comes back as it was: owner, locale and collation, encoding, settings, privileges, comment. */
class RestoreFidelityTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  /** Everything pg_database and pg_db_role_setting say about a database, but its name and oid. */
  static String properties(String db) throws SQLException {
    return pg.single("postgres", """
        SELECT concat_ws(' | ', pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datlocprovider,
          d.datcollate, d.datctype, d.daticulocale, d.datconnlimit, d.datallowconn,
          (SELECT string_agg(regexp_replace(a, '/.*', ''), ',' ORDER BY a) FROM unnest(d.datacl::text[]) a),
          shobj_description(d.oid, 'pg_database'),
          (SELECT string_agg(coalesce(pg_get_userbyid(s.setrole), '*') || ':' || array_to_string(ARRAY(SELECT unnest(s.setconfig) ORDER BY 1), ';'), ','
             ORDER BY s.setrole) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid))
        FROM pg_database d WHERE d.datname = '""" + db + "'");
  }

  Manifest backup(Repository repo, String db, PostgresSource.Format format) throws Exception {
    return BackupPlan.builder("db").source(PostgresSource.builder(PostgresUrl.parse(pg.url(db))).format(format).build())
        .transform(Transforms.zstd()).repository(repo).verifier(Verifiers.presence(1)).build().run().manifest();
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"PLAIN", "PARALLEL"})
  void ownerIcuLocaleSettingsAclAndCommentComeBackOverItselfAndUnderANewName(PostgresSource.Format format)
      throws Exception {
    pg.ensureRole("sp_fid_owner");
    pg.ensureRole("sp_fid_reader");
    String db = "fidelity_" + format.name().toLowerCase() + "_" + System.nanoTime();
    pg.execute("postgres", "CREATE DATABASE " + db + " TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu "
            + "ICU_LOCALE 'ja-JP' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' OWNER sp_fid_owner",
        "REVOKE CONNECT ON DATABASE " + db + " FROM PUBLIC",
        "GRANT CONNECT ON DATABASE " + db + " TO sp_fid_reader",
        "ALTER DATABASE " + db + " SET search_path = app, public",
        "ALTER DATABASE " + db + " SET statement_timeout = '5s'",
        "ALTER DATABASE " + db + " SET app.jwt_secret = 'canary-jwt-5ecret'", // as PostgREST keeps its key
        "ALTER ROLE sp_fid_reader IN DATABASE " + db + " SET work_mem = '8MB'",
        "COMMENT ON DATABASE " + db + " IS 'the campaign database'");
    pg.execute(db, "CREATE SCHEMA app AUTHORIZATION sp_fid_owner",
        "CREATE TABLE app.players (id int PRIMARY KEY, name text)",
        "ALTER TABLE app.players OWNER TO sp_fid_owner",
        "CREATE INDEX players_name ON app.players (name)",
        "INSERT INTO app.players VALUES (1, 'さくら'), (2, 'abc'), (3, 'カイト'), (4, 'ＡＢＣ'), (5, 'あおい')",
        "GRANT SELECT ON app.players TO sp_fid_reader");
    String expected = properties(db);
    String ordering = pg.single(db, "SELECT string_agg(name, ',' ORDER BY name) FROM players");
    assertThat(ordering).isEqualTo("abc,ＡＢＣ,あおい,カイト,さくら");
    assertThat(expected).contains("sp_fid_owner", "i | C.UTF-8", "ja-JP", "search_path=app, public", // order: none
        "app.jwt_secret=canary-jwt-5ecret",
        "statement_timeout=5s", "sp_fid_reader:work_mem=8MB", "the campaign database");

    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = backup(repo, db, format);
    // Setting values travel in an artifact (encrypted when the plan encrypts), never in the plain manifest (38.7).
    assertThat(java.nio.file.Files.readString(tmp.resolve("repo/db/" + m.id() + "/manifest.json"))).contains("app.jwt_secret")
        .doesNotContain("canary-jwt-5ecret");
    assertThat(m.artifact(DatabaseProperties.SETTINGS_ARTIFACT)).isPresent();
    String renamed = db + "_copy";
    for (String target : List.of(renamed, db)) { // into a new name, then over itself (the incident case)
      Map<String, Object> facts = repo.restore(m, PostgresTarget.builder(PostgresUrl.parse(pg.url(target)))
          .safetyBackup(repo, "safety").build(), Secrets.none()).facts();
      assertThat(facts).containsEntry("databaseProperties", "as backed up");
      assertThat(properties(target)).as(target).isEqualTo(expected);
      assertThat(pg.single(target, "SELECT string_agg(name, ',' ORDER BY name) FROM players")).isEqualTo(ordering);
      assertThat(pg.single(target, "SELECT string_agg(name, ',' ORDER BY name) FROM app.players WHERE name > 'ＡＢＣ'"))
          .isEqualTo("あおい,カイト,さくら");
    }
  }

  /** Every security label of the database and its objects, as provider:object:label lines. */
  static String labels(String db) throws SQLException {
    return pg.single(db, """
        SELECT concat_ws(E'\n',
          (SELECT string_agg(l.provider || ':database:' || l.label, E'\n' ORDER BY l.provider) FROM pg_shseclabel l
             JOIN pg_database d ON d.oid = l.objoid WHERE l.classoid = 'pg_database'::regclass
             AND d.datname = current_database()),
          (SELECT string_agg(x, E'\n' ORDER BY x) FROM (SELECT l.provider || ':'
             || pg_describe_object(l.classoid, l.objoid, l.objsubid) || ':' || l.label AS x FROM pg_seclabel l) o))""");
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"PLAIN", "CUSTOM", "PARALLEL"})
  void securityLabelsOfTheDatabaseAndItsObjectsComeBack(PostgresSource.Format format) throws Exception {
    pg.requireLabelProvider();
    String db = pg.createDatabase("labels");
    String provider = TestPostgres.LABEL_PROVIDER;
    String role = "sp_labelled_" + format.name().toLowerCase();
    pg.ensureRole(role);
    pg.execute("postgres", "SECURITY LABEL FOR " + provider + " ON ROLE " + role + " IS 'staff_u:staff_r:staff_t:s0'",
        "COMMENT ON ROLE " + role + " IS 'the game master'");
    String roleFacts = "SELECT (SELECT label FROM pg_shseclabel WHERE classoid = 'pg_authid'::regclass AND objoid = r.oid)"
        + " || ' / ' || shobj_description(r.oid, 'pg_authid') FROM pg_roles r WHERE rolname = '" + role + "'";
    pg.execute("postgres", "SECURITY LABEL FOR " + provider + " ON DATABASE " + db + " IS 'system_u:object_r:db_t:s0'");
    pg.execute(db, "CREATE TABLE secrets (id int PRIMARY KEY, body text)",
        "INSERT INTO secrets VALUES (1, 'the dragon sleeps')",
        "SECURITY LABEL FOR " + provider + " ON TABLE secrets IS 'system_u:object_r:sepgsql_secret_table_t:s0'",
        "SECURITY LABEL FOR " + provider + " ON COLUMN secrets.body IS 'system_u:object_r:sepgsql_secret_column_t:s0'",
        "CREATE FUNCTION reveal() RETURNS text LANGUAGE sql AS 'SELECT body FROM secrets'",
        "SECURITY LABEL FOR " + provider + " ON FUNCTION reveal() IS 'system_u:object_r:sepgsql_proc_exec_t:s0'");
    String expected = labels(db);
    assertThat(expected.lines()).hasSize(4).allMatch(l -> l.startsWith(provider + ":"));

    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = BackupPlan.builder("db").source(PostgresSource.builder(PostgresUrl.parse(pg.url(db))).format(format)
        .withGlobals().build()).repository(repo).build().run().manifest();
    assertThat(DatabaseProperties.of(m).labelProviders()).containsExactly(provider);
    // Onto a server that lost the role: the globals bring it back with its label and comment.
    pg.execute("postgres", "DROP ROLE " + role);
    String restored = db + "_r";
    repo.restore(m, PostgresTarget.builder(PostgresUrl.parse(pg.url(restored))).restoreGlobals(true).build(),
        Secrets.none());
    assertThat(labels(restored)).isEqualTo(expected);
    assertThat(pg.single("postgres", roleFacts)).isEqualTo("staff_u:staff_r:staff_t:s0 / the game master");

    // A server without the provider: refused before anything is created, naming it and the fix.
    String manifestKey = "db/" + m.id() + "/manifest.json";
    String json;
    try (var in = repo.store().get(manifestKey)) {
      json = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    repo.store().put(manifestKey, dev.savepoint.core.store.ByteSource.wrap(json.replace("\"" + provider + "\" ]",
        "\"" + provider + "\", \"selinux\" ]").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    Manifest needsSelinux = repo.manifest("db", m.id());
    assertThat(DatabaseProperties.of(needsSelinux).labelProviders()).containsExactly(provider, "selinux");
    String elsewhere = db + "_x";
    assertThatThrownBy(() -> repo.restore(needsSelinux, PostgresTarget.builder(PostgresUrl.parse(pg.url(elsewhere)))
        .build(), Secrets.none()))
        .isInstanceOf(RestoreException.class).hasMessageContaining("selinux").hasMessageContaining("not loaded")
        .hasMessageNotContaining(provider + ",");
    assertThat(pg.databaseExists(elsewhere)).isFalse();
    pg.dropDatabase(restored);
    pg.dropDatabase(db);
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"PLAIN", "PARALLEL"})
  void latin1AndSqlAsciiDatabasesRoundTripByteExactly(PostgresSource.Format format) throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    for (String encoding : List.of("LATIN1", "SQL_ASCII")) {
      String db = "enc_" + encoding.toLowerCase() + "_" + System.nanoTime();
      pg.execute("postgres", "CREATE DATABASE " + db + " TEMPLATE template0 ENCODING '" + encoding + "' LC_COLLATE 'C' LC_CTYPE 'C'");
      pg.execute(db, "CREATE TABLE t (id int, v text)",
          encoding.equals("LATIN1") ? "INSERT INTO t VALUES (1, 'café crème'), (2, 'Ærø')"
              : "INSERT INTO t VALUES (1, E'\\xff\\xfe raw'), (2, E'caf\\xe9'), (3, 'plain')");
      // The stored bytes, as the server holds them (convert_to the server encoding: no conversion).
      String digest = "SELECT string_agg(id || ':' || encode(convert_to(v, current_setting('server_encoding')), 'hex'), ',' ORDER BY id) FROM t";
      String before = pg.single(db, digest);
      assertThat(before).contains(encoding.equals("LATIN1") ? "636166e92063" : "1:fffe");
      Manifest m = backup(repo, db, format);
      String restored = db + "_r";
      repo.restore(m, PostgresTarget.builder(PostgresUrl.parse(pg.url(restored))).build(), Secrets.none());
      assertThat(pg.single("postgres", "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '" + restored + "'"))
          .isEqualTo(encoding);
      assertThat(pg.single(restored, digest)).as(encoding).isEqualTo(before);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"PLAIN", "PARALLEL"})
  void typedTablesAndTablesOfExtensionTypesRoundTrip(PostgresSource.Format format) throws Exception {
    String db = pg.createDatabase("layouts");
    pg.execute(db, "CREATE EXTENSION citext",
        "CREATE TYPE pair AS (a int, b text)",
        "CREATE TABLE typed OF pair (PRIMARY KEY (a))",
        "INSERT INTO typed SELECT g, 'p' || g FROM generate_series(1, 20) g",
        "CREATE TABLE people (name citext PRIMARY KEY, tags text[])",
        "INSERT INTO people VALUES ('Alice', '{a,b}'), ('bob', NULL), ('ÉLODIE', '{}')");
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = backup(repo, db, format);
    String restored = db + "_r";
    repo.restore(m, PostgresTarget.builder(PostgresUrl.parse(pg.url(restored))).build(), Secrets.none());
    for (String table : List.of("typed", "people")) {
      String digest = "SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY t::text)) FROM " + table + " t";
      assertThat(pg.single(restored, digest)).as(table).isEqualTo(pg.single(db, digest));
    }
    assertThat(pg.single(restored, "SELECT count(*) FROM people WHERE name = 'ALICE'")).as("citext compares").isEqualTo("1");
    assertThat(pg.single(restored, "SELECT reloftype::regtype::text FROM pg_class WHERE relname = 'typed'")).isEqualTo("pair");
    pg.dropDatabase(restored);
    pg.dropDatabase(db);
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"CUSTOM", "PARALLEL"})
  void aMissingOwnerRoleIsRefusedBeforeLoadingAndRestoresWithAnOwnerOverride(PostgresSource.Format format)
      throws Exception {
    String gone = "sp_gone_" + Long.toHexString(System.nanoTime());
    pg.ensureRole(gone);
    String db = "orphaned_" + System.nanoTime();
    pg.execute("postgres", "CREATE DATABASE " + db + " OWNER " + gone);
    pg.execute(db, "CREATE TABLE t (id int)", "ALTER TABLE t OWNER TO " + gone, "INSERT INTO t VALUES (1), (2)");
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = backup(repo, db, format);
    Manifest withRoles = BackupPlan.builder("db").source(PostgresSource.builder(PostgresUrl.parse(pg.url(db)))
        .format(format).withGlobals().build()).repository(repo).verifier(Verifiers.presence(1)).build().run().manifest();
    pg.dropDatabase(db);
    pg.execute("postgres", "DROP ROLE " + gone);

    String target = db + "_new";
    assertThatThrownBy(() -> repo.restore(m, PostgresTarget.builder(PostgresUrl.parse(pg.url(target))).build(),
        Secrets.none())).isInstanceOf(RestoreException.class).hasMessageContaining("lacks the role(s) " + gone)
        .hasMessageContaining("--owner");
    assertThat(pg.databaseExists(target)).isFalse();
    assertThat(pg.single("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '" + db + "%'")).isEqualTo("0");

    Map<String, Object> facts = repo.restore(m, PostgresTarget.builder(PostgresUrl.parse(pg.url(target)))
        .owner("postgres").build(), Secrets.none()).facts();
    assertThat(facts).containsEntry("databaseProperties", "as backed up, except owner postgres");
    assertThat(pg.single(target, "SELECT count(*) FROM t")).isEqualTo("2");
    assertThat(pg.single("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '" + target + "'"))
        .isEqualTo("postgres");

    // Onto a "new server" that lacks the role: the backup's globals create it, and the owner is the original one.
    String again = db + "_globals";
    Map<String, Object> created = repo.restore(withRoles, PostgresTarget.builder(PostgresUrl.parse(pg.url(again)))
        .restoreGlobals(true).build(), Secrets.none()).facts();
    assertThat(created.get("rolesCreated").toString()).contains(gone);
    assertThat(pg.single("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '" + again + "'"))
        .isEqualTo(gone);
    assertThat(pg.single(again, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 't'")).isEqualTo(gone);
    pg.dropDatabase(again);
    pg.dropDatabase(target);
    pg.execute("postgres", "DROP ROLE " + gone);
  }
}
