package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A multi-tenant database of 5,000 tables backs up and restores in the (default) parallel format: its schema loads
 * without one transaction taking more locks than the server has (max_locks_per_transaction × max_connections), and
 * small tables are indexed together at the end rather than by a pg_restore process each.
 */
class ManyTablesTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  @Test
  void fiveThousandTablesBackUpAndRestore() throws Exception {
    String db = pg.createDatabase("tenants");
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      for (int i = 0; i < 5000; i++) {
        s.execute("CREATE TABLE tenant_" + i + " (id int PRIMARY KEY, body text);"
            + "INSERT INTO tenant_" + i + " SELECT g, 'row ' || g FROM generate_series(1, " + (1 + i % 3) + ") g");
        if (i % 500 == 499) {
          c.commit();
        }
      }
      c.commit();
    }
    PostgresUrl url = PostgresUrl.parse(pg.url(db));
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = BackupPlan.builder("tenants").source(PostgresSource.builder(url).build()).transform(Transforms.zstd())
        .repository(repo).build().run().manifest();
    assertThat(m.source().facts()).containsEntry("format", "parallel");
    assertThat(m.artifacts()).hasSize(5001);

    Map<String, Object> facts = repo.restore(m, PostgresTarget.builder(url.withDatabase("tenants_restored")).build(),
        Secrets.none()).facts();
    assertThat(facts).containsKey("phaseSeconds");
    try (Connection c = pg.connect("tenants_restored"); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("""
            SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE 'tenant\\_%' AND relkind = 'r'),
                   (SELECT count(*) FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
                    WHERE t.relname LIKE 'tenant\\_%' AND x.indisprimary),
                   (SELECT count(*) FROM tenant_4999)""")) {
      r.next();
      assertThat(r.getLong(1)).as("tables").isEqualTo(5000);
      assertThat(r.getLong(2)).as("primary keys").isEqualTo(5000);
      assertThat(r.getLong(3)).isEqualTo(1 + 4999 % 3);
    }
    // 30,000 files less in the shared server: other tests' base backups copy (and their restores sync) all of it.
    pg.dropDatabase("tenants_restored");
    pg.dropDatabase(db);
  }
}
