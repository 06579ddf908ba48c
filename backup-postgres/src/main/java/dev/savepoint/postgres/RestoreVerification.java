package dev.savepoint.postgres;

import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.RestoreException;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How a restore proves itself before anything is swapped in: every table's rows against the counts the manifest
 * recorded, then the restore's own SQL checks ({@link PostgresTarget.Builder#check}).
 */
final class RestoreVerification {
  private final List<PostgresTarget.Check> checks;

  RestoreVerification(List<PostgresTarget.Check> checks) {
    this.checks = List.copyOf(checks);
  }

  /** The manifest's row count of every table, by quoted name (checked to be one). */
  static Map<String, Long> expectedCounts(Manifest manifest) throws IntegrityException {
    if (!(manifest.source().facts().get("tableRowCounts") instanceof Map<?, ?> recorded)) {
      throw new IntegrityException("manifest of backup " + manifest.id() + " lacks tableRowCounts");
    }
    Map<String, Long> counts = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : recorded.entrySet()) {
      String table = String.valueOf(e.getKey());
      if (!QUOTED_TABLE.matcher(table).matches()) {
        throw new IntegrityException("manifest of backup " + manifest.id() + " names a table as '" + table
            + "', which is not a quoted \"schema\".\"table\" name; refusing to use it");
      }
      counts.put(table, ((Number) e.getValue()).longValue());
    }
    return counts;
  }

  /** A quoted {@code "schema"."table"} as the manifest records it; anything else is refused, never run. */
  private static final java.util.regex.Pattern QUOTED_TABLE =
      java.util.regex.Pattern.compile("\"(?:[^\"]|\"\")+\"\\.\"(?:[^\"]|\"\")+\"");

  /**
   * Compares every table's rows with the manifest (each relation's own rows, {@code ONLY}, as the backup counted
   * them; backups made before {@code rowCountScope} counted whole inheritance trees in the pg_dump formats),
   * then runs the user checks.
   */
  Map<String, Object> verify(Manifest manifest, PostgresUrl scratch, boolean withChecks) throws IOException {
    Map<String, Object> recordedFacts = manifest.source().facts();
    Map<String, Long> expected = expectedCounts(manifest);
    boolean only = "only".equals(recordedFacts.get("rowCountScope")) || "parallel".equals(recordedFacts.get("format"));
    List<String> differences = new ArrayList<>();
    Map<String, Long> restored = new HashMap<>();
    long rows = 0;
    try (Connection c = scratch.connect(); Statement s = c.createStatement()) {
      for (Map.Entry<String, Long> e : expected.entrySet()) {
        String table = e.getKey();
        long want = e.getValue();
        long got;
        try (ResultSet r = s.executeQuery("SELECT count(*) FROM " + (only ? "ONLY " : "") + table)) {
          r.next();
          got = r.getLong(1);
        } catch (SQLException missing) {
          differences.add(table + ": missing (" + String.valueOf(missing.getMessage()).lines().findFirst().orElse("") + ")");
          continue;
        }
        restored.put(table, got);
        rows += got;
        if (got != want) {
          differences.add(table + ": expected " + want + " rows, restored " + got);
        }
      }
      if (withChecks) {
        differences.addAll(failedChecks(c));
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot verify the restored database: " + e.getMessage(), e);
    }
    if (!differences.isEmpty()) {
      throw new IntegrityException("restored data of backup " + manifest.id() + " does not match its manifest: "
          + String.join("; ", differences));
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("tablesChecked", expected.size());
    facts.put("rowsChecked", rows);
    facts.put("checksPassed", withChecks ? checks.size() : 0);
    // A partitioned table's rows live in its partitions: report each named table's total.
    if (recordedFacts.get("namedTables") instanceof Map<?, ?> named) {
      Map<String, Long> totals = new LinkedHashMap<>();
      named.forEach((name, relations) -> totals.put(String.valueOf(name),
          ((List<?>) relations).stream().mapToLong(r -> restored.getOrDefault(String.valueOf(r), 0L)).sum()));
      facts.put("namedTableRows", totals);
    }
    return facts;
  }

  private List<String> failedChecks(Connection c) throws SQLException {
    List<String> failed = new ArrayList<>();
    for (PostgresTarget.Check check : checks) {
      String actual = PostgresSource.single(c, check.sql());
      if (!Objects.equals(actual, check.expected())) {
        failed.add("check '" + check.sql() + "': expected " + check.expected() + ", got " + actual);
      }
    }
    return failed;
  }

  /** The user checks on the combined database of {@link PostgresTarget#restoreTiers}. */
  void runChecks(PostgresUrl database, Manifest base) throws IOException {
    List<String> failed;
    try (Connection c = database.connect()) {
      failed = failedChecks(c);
    } catch (SQLException e) {
      throw new RestoreException("cannot verify the restored database: " + e.getMessage(), e);
    }
    if (!failed.isEmpty()) {
      throw new IntegrityException("restored tiers (base backup " + base.id() + ") fail the checks: "
          + String.join("; ", failed));
    }
  }

}
