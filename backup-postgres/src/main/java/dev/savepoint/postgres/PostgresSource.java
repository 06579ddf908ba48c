package dev.savepoint.postgres;

import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Source;
import dev.savepoint.core.SourceException;
import dev.savepoint.postgres.internal.ParallelCopy;
import dev.savepoint.postgres.internal.PgTools;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Backs up one PostgreSQL database in one of three formats, always streamed (no temporary file):
 *
 * <ul>
 *   <li>{@link Format#PLAIN}: {@code pg_dump}'s SQL script as the artifact {@code database.sql} (for psql);
 *   <li>{@link Format#CUSTOM}: {@code pg_dump}'s custom archive as {@code database.dump} (for pg_restore);
 *   <li>{@link Format#PARALLEL}: the schema as a custom archive without table data ({@code schema.dump}),
 *       and every table's rows as psql scripts {@code data/NNNN-schema.table.sql} (tables over 128 MiB split
 *       into {@code .002.sql}, {@code .003.sql}, ... so that a restore loads them on several connections too),
 *       copied by several connections at once (in-process JDBC {@code COPY}, like {@code pg_dump
 *       --format=directory --jobs}). {@link PostgresTarget} restores it in parallel. Needs PostgreSQL 12+.
 * </ul>
 *
 * <p>Without a {@link Builder#format chosen format}, a backup uses the parallel format wherever it applies — the
 * fast path, on the server's and the client's cores at once — and the plain format otherwise (a server older
 * than PostgreSQL 12, a table without stored columns, a line break in a table or column name), saying why in the
 * log. The manifest's fact {@code format} records which.
 *
 * <p>Consistency: a REPEATABLE READ transaction exports a snapshot, counts the rows of every dumped table in
 * that snapshot (the parallel format takes the counts from COPY, whose connections share the snapshot), and
 * {@code pg_dump --snapshot} dumps exactly that snapshot while the transaction stays open. The manifest's
 * row counts are therefore exactly what a restore contains, even while the application keeps writing. Facts
 * recorded: server version, database size, snapshot id, format, per-table row counts.
 */
// Over 500 lines: the snapshot, the selection of tables and the three dump formats (pg_dump plain and custom, parallel
// COPY on an exported snapshot) share one consistent view of the database; the per-table COPY is in ParallelCopy.
public final class PostgresSource implements Source {
  /** Dump formats: plain SQL for psql, custom archive for pg_restore. */
  public enum Format {
    PLAIN("p", "database.sql"),
    CUSTOM("c", "database.dump"),
    /** Schema archive plus one artifact per table, written and restored by several connections at once. */
    PARALLEL("c", "schema.dump");

    final String flag;
    final String artifact;

    Format(String flag, String artifact) {
      this.flag = flag;
      this.artifact = artifact;
    }

    public String artifact() {
      return artifact;
    }
  }

  /** The plan's choice of schemas and tables, as given (names are {@code table} or {@code schema.table}). */
  record Selection(List<String> schemas, List<String> excludeSchemas, List<String> tables, Set<String> only,
      List<String> excludeTables, List<String> excludeTableData, Set<String> crossTierReferences) {}

  private final PostgresUrl url;
  private final @Nullable Format format;
  private final Selection selection;
  private final @Nullable String pgDump;
  private final int jobs;
  private final long tablePartBytes;
  private final boolean globals;

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PostgresSource.class);

  private PostgresSource(Builder b) {
    this.url = b.url;
    this.format = b.format;
    this.selection = new Selection(List.copyOf(b.schemas), List.copyOf(b.excludeSchemas), List.copyOf(b.tables),
        Set.copyOf(b.only), List.copyOf(b.excludeTables), List.copyOf(b.excludeTableData),
        Set.copyOf(b.crossTierReferences));
    this.pgDump = b.pgDump;
    this.jobs = b.jobs;
    this.tablePartBytes = b.tablePartBytes;
    this.globals = b.globals;
  }

  public static Builder builder(PostgresUrl url) {
    return new Builder(url);
  }

  /** The artifact holding the server's roles, when backed up {@linkplain Builder#withGlobals with globals}. */
  public static final String GLOBALS = "globals.sql";

  /** The database this source backs up. */
  public PostgresUrl url() {
    return url;
  }

  @Override
  public String type() {
    return "postgresql";
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    try (Connection c = connect(url)) {
      readEveryRow(c);
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        Map<String, Object> facts = new LinkedHashMap<>();
        String snapshot = single(c, "SELECT pg_export_snapshot()");
        facts.put("database", url.database());
        facts.put("serverVersion", single(c, "SHOW server_version"));
        int serverVersionNum = Integer.parseInt(single(c, "SHOW server_version_num"));
        int serverMajor = serverVersionNum / 10000;
        facts.put("serverVersionNum", serverVersionNum);
        facts.put("databaseSizeBytes", Long.parseLong(single(c, "SELECT pg_database_size(current_database())")));
        facts.put("snapshot", snapshot);
        DatabaseProperties properties = DatabaseProperties.read(c);
        facts.put("databaseProperties", properties.toFacts());
        if (!properties.settings().isEmpty()) {
          try (OutputStream out = writer.open(DatabaseProperties.SETTINGS_ARTIFACT)) {
            out.write(properties.settingsDocument());
          }
        }
        // Resolved in the snapshot: partitions created since the plan was written are included.
        BackupScope scope = BackupScope.resolve(c, selection, url.database());
        scope.requireReadable();
        Format format = this.format != null ? this.format : chooseFormat(c, serverVersionNum, scope.copied());
        facts.put("format", format.name().toLowerCase());
        facts.put("role", scope.role());
        // Every connection that read rows ran with row_security = off: RLS could only fail the backup, not
        // filter it, and the preflight found nothing the role could not read.
        facts.put("rowSecurity", "off");
        // Counts are of each relation's own rows (COUNT ... FROM ONLY), as COPY and pg_dump write them.
        facts.put("rowCountScope", "only");
        if (!scope.named().isEmpty()) {
          facts.put("namedTables", scope.named());
        }
        if (!scope.crossTier().isEmpty()) {
          facts.put("crossTierReferences", scope.crossTier().stream()
              .map(r -> Map.of("schema", r.schema(), "table", r.table(), "constraint", r.constraint())).toList());
        }
        String tool = pgDump != null ? pgDump : PgTools.findAtLeast("pg_dump", serverMajor);
        facts.put("pgDumpVersion", toolVersion(tool));
        if (format == Format.PARALLEL) {
          if (serverVersionNum < 120000) {
            throw new SourceException("the parallel format needs PostgreSQL 12 or newer; " + url + " runs "
                + facts.get("serverVersion") + ": use the plain or custom format");
          }
          facts.put("jobs", jobs);
          // Table data travels in the per-table artifacts; the schema archive carries everything else
          // (definitions, sequence values, large objects).
          List<String> noRows = new ArrayList<>(scope.copied());
          noRows.addAll(scope.schemaOnly());
          dump(writer, format, tool, snapshot, serverMajor, noRows, scope.excluded());
          copyTables(writer, c, snapshot, scope.copied(), facts);
        } else {
          facts.put("tableRowCounts", countRows(c, scope.copied()));
          dump(writer, format, tool, snapshot, serverMajor, scope.schemaOnly(), scope.excluded());
        }
        if (globals) {
          dumpGlobals(writer, serverMajor);
          facts.put("globals", GLOBALS);
        }
        c.rollback();
        return facts;
      }
    } catch (SQLException e) {
      throw new SourceException("PostgreSQL " + url + ": " + e.getMessage(), e);
    }
  }

  /**
   * The format of a backup that chose none: {@link Format#PARALLEL} unless something it cannot do is there, then
   * {@link Format#PLAIN}, with the reason in the log.
   */
  private Format chooseFormat(Connection c, int serverVersionNum, List<String> copied) throws SQLException {
    String reason = null;
    if (serverVersionNum < 120000) {
      reason = "the server runs PostgreSQL " + serverVersionNum / 10000 + " and the parallel format needs 12 or newer";
    } else if (!copied.isEmpty()) {
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT t::regclass::text FROM unnest(?::regclass[]) t
          WHERE NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped
                              AND attgenerated = '')
             OR t::regclass::text ~ '[\r\n]'
             OR EXISTS (SELECT FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND attname ~ '[\r\n]')
          LIMIT 1""")) {
        ps.setArray(1, c.createArrayOf("text", copied.toArray()));
        try (ResultSet r = ps.executeQuery()) {
          if (r.next()) {
            reason = "table " + r.getString(1).replaceAll("[\r\n]", "?") + " has no stored columns or a line break"
                + " in its name or a column's, which the parallel format cannot store";
          }
        }
      }
    }
    if (reason == null) {
      return Format.PARALLEL;
    }
    log.info("backing up {} in the plain format: {}", url, reason);
    return Format.PLAIN;
  }

  /**
   * What a backup of this source would hold now and what its role cannot read, without backing anything up:
   * the preflight of {@code savepoint check}. Throws {@link ConfigurationException} for a named table that
   * does not exist.
   */
  /**
   * Why this machine cannot back the server up with its client tools — pg_dump older than the server (refused at
   * backup time) or none — or empty if it can: part of the preflight ({@code savepoint check}).
   */
  public java.util.Optional<String> clientToolProblem() throws IOException {
    if (pgDump != null) {
      return java.util.Optional.empty(); // named by the caller
    }
    int serverMajor;
    try (Connection c = connect(url)) {
      serverMajor = Integer.parseInt(single(c, "SHOW server_version_num")) / 10000;
    } catch (SQLException e) {
      throw new SourceException("PostgreSQL " + url + ": " + e.getMessage(), e);
    }
    try {
      PgTools.findAtLeast("pg_dump", serverMajor);
      return java.util.Optional.empty();
    } catch (dev.savepoint.core.ConfigurationException e) {
      return java.util.Optional.of(String.valueOf(e.getMessage()));
    }
  }

  public BackupScope scope() throws IOException {
    try (Connection c = connect(url)) {
      return BackupScope.resolve(c, selection, url.database());
    } catch (SQLException e) {
      throw new SourceException("PostgreSQL " + url + ": " + e.getMessage(), e);
    }
  }

  /**
   * Makes row-level security raise an error instead of silently filtering rows (as pg_dump does), and lifts
   * role-level timeouts, on every connection that reads data for a backup.
   */
  static void readEveryRow(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SET row_security = off");
      // A role-level timeout must not cut a long copy short (pg_dump resets these for itself too).
      s.execute("SET statement_timeout = 0");
      s.execute("SET lock_timeout = 0");
      s.execute("SET idle_in_transaction_session_timeout = 0");
    }
  }

  static Connection connect(PostgresUrl url) throws SourceException {
    try {
      return url.connect();
    } catch (SQLException e) {
      throw new SourceException("cannot connect to " + url + ": " + e.getMessage()
          + " (check host, port, database and the password in PGPASSWORD or ~/.pgpass)", e);
    }
  }

  /** The first column of the first row of {@code sql}. */
  static String single(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getString(1);
    }
  }

  /**
   * Copies every dumped table in the snapshot on {@link #jobs} connections, largest first, each table into its
   * own artifacts; records the exact row count of each (what COPY reported) and the schema entries that
   * belong to each table alone.
   */
  private void copyTables(ArtifactWriter writer, Connection c, String snapshot, List<String> dumped,
      Map<String, Object> facts) throws IOException, SQLException {
    if (dumped.isEmpty()) {
      facts.put("tableRowCounts", Map.of());
      return;
    }
    try (Statement s = c.createStatement()) {
      // As pg_dump does: nobody may drop or rewrite a table between the snapshot and its COPY.
      s.execute("LOCK TABLE " + String.join(", ", dumped) + " IN ACCESS SHARE MODE");
    }
    record TableCopy(String table, String columns, long bytes) {}
    List<TableCopy> copies = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("""
        SELECT pg_relation_size(?::regclass), (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
          FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '')""")) {
      for (String table : dumped) {
        ps.setString(1, table);
        ps.setString(2, table);
        try (ResultSet r = ps.executeQuery()) {
          r.next();
          copies.add(new TableCopy(table, r.getString(2), r.getLong(1)));
        }
      }
    }
    copies.sort(java.util.Comparator.comparingLong(TableCopy::bytes).reversed());
    // A SQL_ASCII database may hold bytes that are no valid UTF-8: copy them as they are, unconverted.
    String copyEncoding = single(c, "SHOW server_encoding").equals("SQL_ASCII") ? "SQL_ASCII" : "UTF8";
    Map<String, List<String>> ownPostData = new TreeMap<>();
    List<ParallelCopy.Task<Long>> tasks = new ArrayList<>();
    for (int i = 0; i < copies.size(); i++) {
      TableCopy copy = copies.get(i);
      String base = String.format("data/%04d-%s", i + 1,
          copy.table().replace("\"", "").replaceAll("[^A-Za-z0-9_.-]", "_"));
      ownPostData.put(base, ownIndexEntries(c, copy.table()));
      tasks.add(worker -> {
        if (copy.columns() == null) {
          // A table without stored columns still has rows; COPY cannot express them, so refuse.
          throw new SourceException("table " + copy.table() + " has no stored columns; the parallel format "
              + "cannot copy it: use the plain or custom format");
        }
        if ((copy.table() + copy.columns()).contains("\n") || (copy.table() + copy.columns()).contains("\r")) {
          // Each script's COPY statement is one line; a line break in a name would make it unreadable.
          throw new SourceException("table " + copy.table().replaceAll("[\r\n]", "?") + " has a line break in "
              + "its name or a column name; the parallel format cannot store it: use the plain or custom format");
        }
        try {
          return ParallelCopy.copyOut(worker, copy.table(), copy.columns(), copyEncoding,
              n -> writer.open(base + (n == 1 ? "" : String.format(".%03d", n)) + ".sql"), tablePartBytes);
        } catch (SQLException e) {
          throw new SourceException("copying table " + copy.table() + " of " + url + " failed: " + e.getMessage(), e);
        }
      });
    }
    List<Long> rows = ParallelCopy.run(tasks, jobs, () -> {
      Connection worker = connect(url);
      readEveryRow(worker);
      worker.setAutoCommit(false);
      try (Statement s = worker.createStatement()) {
        s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        s.execute("SET TRANSACTION SNAPSHOT '" + snapshot.replace("'", "''") + "'");
      }
      return worker;
    });
    Map<String, Long> counts = new TreeMap<>();
    for (int i = 0; i < copies.size(); i++) {
      counts.put(copies.get(i).table(), rows.get(i));
    }
    facts.put("tableRowCounts", counts);
    facts.put("tablePostData", ownPostData);
  }

  /**
   * The schema archive's entries (as {@code pg_restore -l} names them: type, schema, tag) that build only
   * {@code table}'s own indexes and index-backed constraints, so a restore can create them as soon as that
   * table's rows are in, while other tables still load — as {@code pg_restore --jobs} schedules them.
   */
  private static List<String> ownIndexEntries(Connection c, String table) throws SQLException {
    List<String> entries = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("""
        SELECT 'INDEX ' || n.nspname || ' ' || i.relname
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE x.indrelid = ?::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
        UNION ALL
        SELECT 'CONSTRAINT ' || n.nspname || ' ' || t.relname || ' ' || k.conname
        FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE k.conrelid = ?::regclass AND k.contype IN ('p', 'u', 'x')
        ORDER BY 1""")) {
      ps.setString(1, table);
      ps.setString(2, table);
      try (ResultSet r = ps.executeQuery()) {
        while (r.next()) {
          entries.add(r.getString(1));
        }
      }
    }
    return entries;
  }

  /** Exact row counts, in the snapshot, of every table whose data the dump contains. */
  private static Map<String, Long> countRows(Connection c, List<String> dumped) throws SQLException {
    Map<String, Long> counts = new TreeMap<>();
    for (String table : dumped) {
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM ONLY " + table)) {
        r.next();
        counts.put(table, r.getLong(1));
      }
    }
    return counts;
  }

  static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  private String toolVersion(String tool) {
    try {
      Process p = PgTools.processBuilder(List.of(tool, "--version"), url).redirectErrorStream(true).start();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "unknown (" + tool + " --version did not answer)";
      }
      return new String(p.getInputStream().readAllBytes()).strip();
    } catch (IOException e) {
      return "unknown";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  /** Runs pg_dump in the snapshot; {@code withoutData} and {@code excluded} are quoted relation names. */
  private void dump(ArtifactWriter writer, Format format, String tool, String snapshot, int serverMajor, List<String> withoutData,
      List<String> excluded) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(tool, "--no-password", "--snapshot=" + snapshot,
        "--format=" + format.flag));
    if (format.flag.equals("c")) {
      cmd.add("--compress=0"); // Savepoint's transforms compress; a compressed archive would not shrink further.
    }
    selection.schemas().forEach(x -> cmd.add("--schema=" + quote(x)));
    selection.excludeSchemas().forEach(x -> cmd.add("--exclude-schema=" + quote(x)));
    // Quoted names are literal pg_dump patterns.
    withoutData.forEach(x -> cmd.add("--exclude-table-data=" + x));
    excluded.forEach(x -> cmd.add("--exclude-table=" + x));
    Process p = PgTools.start(cmd, url);
    PgTools.StderrCollector stderr = new PgTools.StderrCollector(p);
    p.getOutputStream().close();
    // Reading a process's output cannot be interrupted: a watchdog kills pg_dump when this thread is
    // interrupted (scheduler shutdown), so the backup fails promptly and writes no manifest.
    Thread caller = Thread.currentThread();
    Thread watchdog = new Thread(() -> {
      while (p.isAlive()) {
        if (caller.isInterrupted()) {
          p.destroyForcibly();
          return;
        }
        try {
          p.waitFor(100, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "savepoint-pg_dump-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    OutputStream out = writer.open(format.artifact);
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
      int exit = p.waitFor();
      if (Thread.currentThread().isInterrupted()) {
        throw new java.io.InterruptedIOException("backup interrupted; pg_dump stopped");
      }
      if (exit != 0) {
        throw failure(exit, stderr.text(), tool, serverMajor);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while running pg_dump");
    } catch (IOException e) {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
      throw e;
    } finally {
      watchdog.interrupt();
    }
    // Only a dump that pg_dump reported as complete is closed, i.e. committed as an artifact.
    out.close();
  }

  private void dumpGlobals(ArtifactWriter writer, int serverMajor) throws IOException {
    List<String> cmd = List.of(PgTools.findAtLeast("pg_dumpall", serverMajor), "--no-password", "--globals-only",
        "--no-role-passwords", "--no-tablespaces", "--database=" + url.database());
    Process p = PgTools.start(cmd, url);
    PgTools.StderrCollector stderr = new PgTools.StderrCollector(p);
    p.getOutputStream().close();
    OutputStream out = writer.open(GLOBALS);
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
      if (p.waitFor() != 0) {
        throw new SourceException("pg_dumpall --globals-only of " + url + " failed: " + stderr.text());
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while running pg_dumpall");
    }
    out.close();
  }

  private SourceException failure(int exit, String stderr, String tool, int serverMajor) {
    if (stderr.contains("server version mismatch")) {
      return new SourceException("pg_dump (" + tool + ") is older than the PostgreSQL " + serverMajor + " server of "
          + url + ": install the PostgreSQL " + serverMajor + " client tools or point SAVEPOINT_PG_BIN at them ("
          + stderr + ")");
    }
    return new SourceException("pg_dump of " + url + " failed with exit code " + exit + ": "
        + (stderr.isEmpty() ? "(no message)" : stderr));
  }

  /** Options of a {@link PostgresSource}. Table names may be {@code table} or {@code schema.table}. */
  public static final class Builder {
    private final PostgresUrl url;
    private @Nullable Format format;
    private final List<String> schemas = new ArrayList<>();
    private final List<String> excludeSchemas = new ArrayList<>();
    private final List<String> tables = new ArrayList<>();
    private final Set<String> only = new java.util.HashSet<>();
    private final Set<String> crossTierReferences = new java.util.HashSet<>();
    private final List<String> excludeTables = new ArrayList<>();
    private final List<String> excludeTableData = new ArrayList<>();
    private @Nullable String pgDump;
    private int jobs = ParallelCopy.DEFAULT_JOBS;
    private long tablePartBytes = ParallelCopy.PART_BYTES;
    private boolean globals;

    private Builder(PostgresUrl url) {
      this.url = Objects.requireNonNull(url);
    }

    /**
     * The dump format; null (the default) chooses per backup: {@link Format#PARALLEL} wherever it applies,
     * else {@link Format#PLAIN} (see the class comment).
     */
    public Builder format(@Nullable Format format) {
      this.format = format;
      return this;
    }

    public Builder schema(String schema) {
      schemas.add(schema);
      return this;
    }

    public Builder excludeSchema(String schema) {
      excludeSchemas.add(schema);
      return this;
    }

    /**
     * Backs up the rows of only these tables (a tier, e.g. users, sessions, chat); may be called repeatedly.
     * A table means the table and everything that stores its rows: every partition of a partitioned table at
     * any depth, and the children of an inheritance parent, resolved at each backup (so next month's partition
     * is included). The schema of the whole database is still dumped, so the backup restores on its own; rows
     * of other tables are left out. A tier should be closed under foreign keys (include the tables its rows
     * reference), or restoring the constraints fails. A name that matches no table fails the backup.
     */
    public Builder table(String... names) {
      tables.addAll(List.of(names));
      return this;
    }

    /** As {@link #table}, but only the named table's own rows: not its partitions or inheritance children. */
    public Builder tableOnly(String... names) {
      table(names);
      only.addAll(List.of(names));
      return this;
    }

    /**
     * Declares foreign-key constraints (by name) that join this tier's tables to tables of another tier. Without
     * the declaration such a tier is refused at backup time, since its backup cannot restore on its own; with it,
     * a tier-scoped restore checks the reference against the live database's rows of the other tier.
     */
    public Builder crossTierReference(String... constraintNames) {
      crossTierReferences.addAll(List.of(constraintNames));
      return this;
    }

    /** Leaves these tables out entirely, with their partitions and inheritance children. */
    public Builder excludeTable(String... names) {
      excludeTables.addAll(List.of(names));
      return this;
    }

    /** Dumps the definition but not the rows (session caches, derived data), of partitions and children too. */
    public Builder excludeTableData(String... names) {
      excludeTableData.addAll(List.of(names));
      return this;
    }

    /**
     * How many connections copy tables at once in the {@link Format#PARALLEL} format (default: the number of
     * processors, at least 2 and at most 4). Each is one more connection to the server.
     */
    public Builder jobs(int jobs) {
      this.jobs = ParallelCopy.checkJobs(jobs);
      return this;
    }

    /**
     * In the {@link Format#PARALLEL} format, the size (of COPY text) above which a table's rows are split into
     * several artifacts, so that a restore loads the table on several connections (default 128 MiB).
     */
    public Builder tablePartBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("table part size must be positive, was " + bytes);
      }
      this.tablePartBytes = bytes;
      return this;
    }

    /**
     * Also backs up the server's roles and their memberships ({@code pg_dumpall --globals-only
     * --no-role-passwords}) as the artifact {@value #GLOBALS}, so a restore onto a new server can create the
     * roles that own the database's objects ({@link PostgresTarget.Builder#restoreGlobals}).
     */
    public Builder withGlobals() {
      this.globals = true;
      return this;
    }

    /** An explicit pg_dump executable (default: found for the server's major version). */
    public Builder pgDump(String path) {
      this.pgDump = path;
      return this;
    }

    public PostgresSource build() {
      java.util.Set<String> both = new java.util.TreeSet<>(tables);
      both.retainAll(excludeTables);
      if (!both.isEmpty()) {
        throw new IllegalArgumentException("tables both included and excluded: " + String.join(", ", both)
            + " (a backup of nothing would pass as complete); keep one of table(…) and excludeTable(…) for each");
      }
      return new PostgresSource(this);
    }
  }
}
