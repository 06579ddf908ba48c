package dev.savepoint.postgres;

import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.RestoreException;
import java.io.IOException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

/**
 * A tier-scoped restore's last step: replaces the rows of a tier's tables in the live database with those of a
 * scratch database that holds the restored (and already verified) backup, in one transaction, leaving every
 * other table untouched. Inside the transaction, triggers and foreign-key actions are off
 * ({@code session_replication_role = replica}, which needs a superuser), so deleting the tier's old rows cascades
 * nowhere; afterwards every foreign key touching the tier is checked against the live data (references that
 * cross tiers included) and every row count against the manifest. Any failure rolls everything back.
 */
final class TierReplacement {
  private TierReplacement() {}

  /** Refuses, before anything is loaded, a role that cannot switch off triggers for the replacement. */
  static void requireSuperuser(PostgresUrl live) throws IOException {
    try (Connection c = live.connect()) {
      if (!Boolean.parseBoolean(PostgresSource.single(c, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user"))) {
        throw new RestoreException("a tier-scoped restore into " + live + " replaces the tier's tables with triggers "
            + "and foreign-key actions off, which needs a superuser; restore as one, or restore the whole database "
            + "(--scope database) into a new database");
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot inspect " + live + ": " + e.getMessage(), e);
    }
  }

  /**
   * Replaces the tier's tables of {@code live} with those of {@code scratch}; with {@code checkKeys}, every foreign
   * key touching them is checked before committing ({@link PostgresTarget#restoreTiers} checks once, at the end).
   */
  static Map<String, Object> run(PostgresUrl scratch, PostgresUrl live, Manifest manifest, Map<String, Long> expected,
      boolean checkKeys) throws IOException {
    List<String> tables = new ArrayList<>(expected.keySet());
    try (Connection from = scratch.connect(); Connection to = live.connect()) {
      to.setAutoCommit(false);
      try {
        try (Statement s = to.createStatement()) {
          s.execute("SET LOCAL session_replication_role = replica");
          s.execute("SET LOCAL statement_timeout = 0");
          if (!tables.isEmpty()) {
            s.execute("LOCK TABLE " + String.join(", ", tables) + " IN ACCESS EXCLUSIVE MODE");
          }
        }
        long rows = 0;
        for (String table : tables) {
          rows += replace(from, to, table);
          copySequences(from, to, table);
        }
        int checked = 0;
        if (checkKeys) {
          List<String> violations = new ArrayList<>();
          checked = checkForeignKeys(to, tables, violations);
          if (!violations.isEmpty()) {
            throw new IntegrityException("restoring the tier of backup " + manifest.id() + " would break foreign keys "
                + "with the rest of the live database: " + String.join("; ", violations) + ". Nothing was changed "
                + "(rolled back): restore the tiers these rows belong to together, or restore the whole database");
          }
        }
        for (String table : tables) {
          long got = Long.parseLong(PostgresSource.single(to, "SELECT count(*) FROM ONLY " + table));
          if (!Long.valueOf(got).equals(expected.get(table))) {
            throw new IntegrityException("tier restore of backup " + manifest.id() + ": " + table + " has " + got
                + " rows in " + live + ", the manifest records " + expected.get(table) + "; rolled back");
          }
        }
        to.commit();
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("scope", "tier");
        facts.put("tablesReplaced", tables.size());
        facts.put("rowsRestored", rows);
        facts.put("foreignKeysChecked", checked);
        return facts;
      } catch (IOException | SQLException | RuntimeException e) {
        to.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new RestoreException("replacing the tier's tables in " + live + " failed (rolled back, nothing changed): "
          + e.getMessage(), e);
    }
  }

  private static String columns(Connection c, String table) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("""
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
        WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''""")) {
      ps.setString(1, table);
      try (ResultSet r = ps.executeQuery()) {
        r.next();
        return r.getString(1);
      }
    }
  }

  /** Deletes the live table's own rows and streams the scratch copy's rows in; returns how many. */
  private static long replace(Connection from, Connection to, String table) throws SQLException, IOException {
    String columns;
    try {
      columns = columns(to, table);
    } catch (SQLException missing) {
      throw new RestoreException("table " + table + " of the backup does not exist in the live database; restore "
          + "the whole database (--scope database) instead", missing);
    }
    String backedUp = columns(from, table);
    if (!columns.equals(backedUp)) {
      throw new RestoreException("table " + table + " has columns (" + columns + ") in the live database but ("
          + backedUp + ") in the backup; migrate first, or restore the whole database (--scope database)");
    }
    try (Statement s = to.createStatement()) {
      s.execute("DELETE FROM ONLY " + table);
    }
    CopyOut out = from.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY " + table + " (" + columns + ") TO STDOUT");
    CopyIn in = to.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + table + " (" + columns + ") FROM STDIN");
    try {
      byte[] row;
      while ((row = out.readFromCopy()) != null) {
        in.writeToCopy(row, 0, row.length);
      }
      return in.endCopy();
    } finally {
      if (in.isActive()) {
        in.cancelCopy();
      }
      if (out.isActive()) {
        out.cancelCopy();
      }
    }
  }

  /** Sequences the table owns (serial, identity) continue where the backup's did. */
  private static void copySequences(Connection from, Connection to, String table) throws SQLException {
    List<String> sequences = new ArrayList<>();
    try (PreparedStatement ps = from.prepareStatement("""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname) FROM pg_depend d
          JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace n ON n.oid = s.relnamespace
        WHERE d.refobjid = ?::regclass AND d.deptype IN ('a', 'i')""")) {
      ps.setString(1, table);
      try (ResultSet r = ps.executeQuery()) {
        while (r.next()) {
          sequences.add(r.getString(1));
        }
      }
    }
    for (String sequence : sequences) {
      try (Statement s = from.createStatement(); ResultSet r = s.executeQuery(
          "SELECT last_value, is_called FROM " + sequence); PreparedStatement set = to.prepareStatement(
          "SELECT setval(?::regclass, ?, ?)")) {
        r.next();
        set.setString(1, sequence);
        set.setLong(2, r.getLong(1));
        set.setBoolean(3, r.getBoolean(2));
        set.execute();
      }
    }
  }

  /**
   * Checks every foreign key that has the tier's tables (or their partitioned parents) on either side against
   * the live rows, as PostgreSQL's MATCH SIMPLE would; returns how many were checked.
   */
  private static int checkForeignKeys(Connection c, List<String> tables, List<String> violations)
      throws SQLException {
    Set<Long> relations = new LinkedHashSet<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT ?::regclass::oid::bigint UNION SELECT relid::bigint FROM pg_partition_ancestors(?::regclass)")) {
      for (String table : tables) {
        ps.setString(1, table);
        ps.setString(2, table);
        try (ResultSet r = ps.executeQuery()) {
          while (r.next()) {
            relations.add(r.getLong(1));
          }
        }
      }
    }
    int checked = 0;
    try (PreparedStatement ps = c.prepareStatement("""
        SELECT k.conname, k.conrelid::regclass::text, k.confrelid::regclass::text,
          ARRAY(SELECT quote_ident(a.attname) FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
          ARRAY(SELECT quote_ident(a.attname) FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
        FROM pg_constraint k
        WHERE k.contype = 'f' AND k.conparentid = 0 AND (k.conrelid = ANY(?) OR k.confrelid = ANY(?))""")) {
      Array oids = c.createArrayOf("bigint", relations.toArray());
      ps.setArray(1, oids);
      ps.setArray(2, oids);
      try (ResultSet r = ps.executeQuery()) {
        while (r.next()) {
          String[] fk = (String[]) r.getArray(4).getArray();
          String[] pk = (String[]) r.getArray(5).getArray();
          List<String> notNull = new ArrayList<>();
          List<String> join = new ArrayList<>();
          for (int i = 0; i < fk.length; i++) {
            notNull.add("x." + fk[i] + " IS NOT NULL");
            join.add("y." + pk[i] + " = x." + fk[i]);
          }
          long broken = Long.parseLong(PostgresSource.single(c, "SELECT count(*) FROM " + r.getString(2) + " x WHERE "
              + String.join(" AND ", notNull) + " AND NOT EXISTS (SELECT 1 FROM " + r.getString(3) + " y WHERE "
              + String.join(" AND ", join) + ")"));
          checked++;
          if (broken > 0) {
            violations.add("constraint " + r.getString(1) + ": " + broken + " row(s) of " + r.getString(2)
                + " reference missing rows of " + r.getString(3));
          }
        }
      }
    }
    return checked;
  }

  /** Every foreign key touching {@code tables} of the combined database, checked; returns how many. */
  static int checkCombined(PostgresUrl combined, List<String> tables) throws IOException {
    List<String> violations = new ArrayList<>();
    int checked;
    try (Connection c = combined.connect()) {
      checked = checkForeignKeys(c, tables, violations);
    } catch (SQLException e) {
      throw new RestoreException("cannot check the foreign keys of the combined tiers: " + e.getMessage(), e);
    }
    if (!violations.isEmpty()) {
      throw new IntegrityException("the tiers' backups do not fit together: " + String.join("; ", violations)
          + ". Nothing was changed: restore them as of another time (their backups' points in time differ), or "
          + "restore each tier with --scope tier");
    }
    return checked;
  }

  /**
   * The definitions of {@code references} in {@code database} (where the referencing table is empty, so they
   * exist), schema-qualified whatever the search path.
   */
  static Map<BackupScope.CrossTierReference, String> foreignKeyDefinitions(PostgresUrl database,
      List<BackupScope.CrossTierReference> references) throws IOException {
    Map<BackupScope.CrossTierReference, String> result = new LinkedHashMap<>();
    try (Connection c = database.connect(); Statement s = c.createStatement(); PreparedStatement ps = c.prepareStatement("""
        SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE k.contype = 'f' AND n.nspname = ? AND t.relname = ? AND k.conname = ?""")) {
      s.execute("SET search_path = ''");
      for (BackupScope.CrossTierReference ref : references) {
        ps.setString(1, ref.schema());
        ps.setString(2, ref.table());
        ps.setString(3, ref.constraint());
        try (ResultSet r = ps.executeQuery()) {
          if (r.next()) {
            result.put(ref, r.getString(1));
          }
        }
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot read foreign keys of " + database + ": " + e.getMessage(), e);
    }
    return result;
  }

  /** Adds {@code references} back to {@code combined}, each validated against every row. */
  static void addForeignKeys(PostgresUrl combined, List<BackupScope.CrossTierReference> references,
      Map<BackupScope.CrossTierReference, String> definitions) throws IOException {
    try (Connection c = combined.connect(); Statement s = c.createStatement()) {
      s.execute("SET search_path = ''");
      for (BackupScope.CrossTierReference ref : references) {
        String definition = definitions.get(ref);
        if (definition == null) {
          throw new RestoreException("constraint " + ref.constraint() + " of " + ref.schema() + "." + ref.table()
              + " is in none of the other tiers' backups; restore the tiers one by one with --scope tier");
        }
        try {
          s.execute("ALTER TABLE " + PostgresSource.quote(ref.schema()) + "." + PostgresSource.quote(ref.table())
              + " ADD CONSTRAINT " + PostgresSource.quote(ref.constraint()) + " " + definition);
        } catch (SQLException e) {
          throw new IntegrityException("the tiers' backups do not fit together: constraint " + ref.constraint()
              + " of " + ref.schema() + "." + ref.table() + " fails on the combined rows (" + String.valueOf(e.getMessage()).lines()
              .findFirst().orElse("") + "). Nothing was changed: restore them as of another time, or restore each "
              + "tier with --scope tier", e);
        }
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot add the cross-tier foreign keys to " + combined + ": " + e.getMessage(), e);
    }
  }
}
