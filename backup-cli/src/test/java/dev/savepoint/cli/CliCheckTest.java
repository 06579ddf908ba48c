package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code savepoint check}: the preflight an operator runs while setting up a backup role and tiers. */
class CliCheckTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  @Test
  void checkNamesUnreadableTablesResolvedPartitionsAndTablesInNoTier() throws Exception {
    String db = pg.createDatabase("cli_check");
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      pg.ensureRole("sp_cli_ro");
      s.execute("CREATE TABLE users (id int PRIMARY KEY)");
      s.execute("CREATE TABLE chat (id int, at date) PARTITION BY RANGE (at)");
      s.execute("CREATE TABLE chat_2026 PARTITION OF chat FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
      s.execute("CREATE TABLE profiles (id int, tenant text)");
      s.execute("ALTER TABLE profiles ENABLE ROW LEVEL SECURITY");
      s.execute("CREATE TABLE game_events (id int)");
      s.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO sp_cli_ro");
    }
    Path plans = tmp.resolve("plans.yaml");
    Files.writeString(plans, """
        plans:
          - name: t1
            source: %s
            tables: [users, chat]
            repository: file:%s
            insecureUnsigned: true
          - name: t2
            source: %s
            tables: [profiles]
            repository: file:%s
            insecureUnsigned: true
        """.formatted(pg.url(db), tmp.resolve("repo"), pg.url(db), tmp.resolve("repo")));
    CliProcess.Result ok = CliProcess.run("check", "--config", plans.toString());
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.out()).contains("plan 't1'", "chat -> \"public\".\"chat_2026\"",
        "tables whose rows no plan copies: \"public\".\"game_events\"");

    String asReader = "postgresql://sp_cli_ro@" + pg.host() + ":" + pg.port() + "/" + db;
    CliProcess.Result refused = CliProcess.run("check", "--source", asReader);
    assertThat(refused.exit()).isEqualTo(Main.FAILED);
    assertThat(refused.out()).contains("CANNOT READ \"public\".\"profiles\": row-level security hides rows from sp_cli_ro");

    // The backup itself is refused the same way, in one line, storing nothing.
    CliProcess.Result backup = CliProcess.run("backup", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("r2"), "--plan", "p",
        "--source", asReader, "--pg-format", "parallel");
    assertThat(backup.exit()).isEqualTo(Main.FAILED);
    assertThat(backup.errors()).singleElement().asString().contains("BYPASSRLS", "\"public\".\"profiles\"");
    try (var files = Files.walk(tmp.resolve("r2"))) {
      assertThat(files.filter(Files::isRegularFile).map(Path::toString)).as("only the audit log").allMatch(f -> f.contains("_savepoint"));
    }
  }
}
