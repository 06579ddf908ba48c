package dev.savepoint.postgres;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.RestoreException;
import dev.savepoint.postgres.internal.ForeignKeyFilter;
import dev.savepoint.postgres.internal.ParallelCopy;
import dev.savepoint.postgres.internal.PgTools;
import dev.savepoint.postgres.internal.RestrictedScript;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a logical backup into a scratch database, by its format: a plain SQL script through {@code psql} (read
 * restricted: no backslash commands), a custom archive through {@code pg_restore}, a parallel backup table by table on
 * several connections. Leaving out the foreign keys of cross-tier references where a tier is restored on its own.
 */
final class DumpLoader {
  private static final Logger log = LoggerFactory.getLogger(PostgresTarget.class);

  /** Connections a parallel backup's tables load on. */
  private final int jobs;

  DumpLoader(int jobs) {
    this.jobs = jobs;
  }

  /** Loads the backup into {@code scratch}, ending the phases it goes through ({@code load}, or three in parallel). */
  void load(ArtifactReader artifacts, PostgresUrl scratch, int serverMajor, boolean withoutOwners,
      List<BackupScope.CrossTierReference> skippedForeignKeys, PostgresTarget.Phases phases) throws IOException {
    String format = String.valueOf(artifacts.manifest().source().facts().getOrDefault("format", "plain"));
    List<String> pgRestore = new ArrayList<>(List.of(PgTools.find("pg_restore", serverMajor), "--no-password",
        "--exit-on-error", "--dbname=" + scratch.database()));
    if (withoutOwners) {
      pgRestore.addAll(List.of("--no-owner", "--no-acl"));
    }
    if (format.equals("parallel")) {
      loadParallel(artifacts, scratch, pgRestore, skippedForeignKeys, phases);
      return;
    }
    if (format.equals("custom") && !skippedForeignKeys.isEmpty()) {
      throw new RestoreException("backup " + artifacts.manifest().id() + " is a custom-format tier with cross-tier "
          + "references, which cannot be loaded without the other tier's rows; take tier backups with cross-tier "
          + "references in the parallel or plain format");
    }
    ArtifactRecord artifact = artifacts.manifest().artifact(format.equals("custom") ? PostgresSource.Format.CUSTOM.artifact()
        : PostgresSource.Format.PLAIN.artifact()).orElse(artifacts.manifest().artifacts().get(0));
    boolean sql = !format.equals("custom");
    List<String> cmd = sql
        ? List.of(PgTools.find("psql", serverMajor), "--no-password", "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "--single-transaction", "--dbname=" + scratch.database(), "-f", "-")
        : concat(pgRestore, "--single-transaction");
    if (sql) {
      RestrictedScript.requireRestrictable(cmd.get(0));
    }
    Process p = PgTools.processBuilder(cmd, scratch).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    PgTools.StderrCollector stderr = new PgTools.StderrCollector(p);
    try (InputStream in = artifacts.open(artifact)) {
      // pg_restore reads an archive and runs SQL only; psql runs backslash commands too, so it reads restricted.
      OutputStream stdin = sql ? RestrictedScript.feeding(cmd.get(0), p.getOutputStream()) : p.getOutputStream();
      try {
        if (skippedForeignKeys.isEmpty()) {
          in.transferTo(stdin);
        } else {
          new ForeignKeyFilter(skippedForeignKeys.stream().map(k -> ParallelCopy.identifier(k.constraint()))
              .collect(java.util.stream.Collectors.toSet())).copy(in, stdin);
        }
      } catch (IOException e) {
        // Either the data failed verification or the loader died. Kill it, so nothing is committed.
        p.destroyForcibly();
        if (e instanceof IntegrityException || p.waitFor() == 0) {
          throw e;
        }
        throw new RestoreException(cmd.get(0) + " failed while loading backup " + artifacts.manifest().id()
            + ": " + stderr.text(), e);
      }
      stdin.close();
      int exit = p.waitFor();
      if (exit != 0) {
        throw new RestoreException(cmd.get(0) + " failed (exit " + exit + ") loading backup "
            + artifacts.manifest().id() + ": " + stderr.text());
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new RestoreException("interrupted while loading backup " + artifacts.manifest().id());
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
    phases.end("load");
  }

  /**
   * Loads a {@link PostgresSource.Format#PARALLEL} backup the way {@code pg_restore --jobs} loads a directory
   * archive: definitions (and sequence values, large objects) first; then every table's rows on {@code jobs}
   * connections at once, largest first, each table's own indexes and keys built as soon as its rows are in
   * while other tables still load; then the rest (foreign keys, triggers, partitioned indexes) by
   * {@code pg_restore --jobs}. The schema archive is spooled to a private temporary file (pg_restore needs to
   * seek in it); it holds no table rows.
   */
  private void loadParallel(ArtifactReader artifacts, PostgresUrl scratch, List<String> restore,
      List<BackupScope.CrossTierReference> skippedForeignKeys, PostgresTarget.Phases phases) throws IOException {
    Manifest manifest = artifacts.manifest();
    // Named with this process's id: the next restore removes what a killed one spooled (Staging).
    Path work = dev.savepoint.core.internal.OwnerOnly.createDirectory(dev.savepoint.core.internal.Staging.restoring(
        Path.of(System.getProperty("java.io.tmpdir"), "savepoint-schema")));
    try {
      Path schema = work.resolve("schema.dump");
      try (InputStream in = artifacts.open(PostgresSource.Format.PARALLEL.artifact());
          OutputStream out = Files.newOutputStream(schema)) {
        in.transferTo(out);
      }
      // Not one transaction: thousands of tables would need more locks than max_locks_per_transaction allows, and
      // the scratch database is dropped whole if anything fails (--exit-on-error).
      PgTools.run(concat(restore, "--section=pre-data", "--section=data", schema.toString()),
          scratch, "loading the schema of backup " + manifest.id());
      log.info("loaded the schema of backup {} in {} s", manifest.id(), phases.end("schema"));
      List<String> toc = PgTools.output(List.of(restore.get(0), "--list", schema.toString()), scratch,
          "reading the schema archive of backup " + manifest.id()).lines()
          .filter(l -> !l.isBlank() && !l.startsWith(";")).toList();
      List<ArtifactRecord> parts = manifest.artifacts().stream().filter(a -> a.name().startsWith("data/"))
          .sorted(Comparator.comparingLong(ArtifactRecord::rawBytes).reversed()).toList();
      // Indexing a table as soon as its rows are in pays for large tables; for small ones a pg_restore process each
      // costs more than it overlaps (thousands of tenant tables: minutes), so they are indexed with the rest.
      Map<String, Long> tableBytes = new HashMap<>();
      parts.forEach(a -> tableBytes.merge(tableOf(a), a.rawBytes(), Long::sum));
      Map<String, List<String>> ownEntries = new HashMap<>(ownEntries(manifest, toc));
      ownEntries.keySet().removeIf(table -> tableBytes.getOrDefault(table, 0L) < EARLY_INDEX_BYTES);
      Set<String> early = new HashSet<>();
      ownEntries.values().forEach(early::addAll);

      Map<String, AtomicInteger> partsLeft = new HashMap<>();
      parts.forEach(a -> partsLeft.computeIfAbsent(tableOf(a), t -> new AtomicInteger()).incrementAndGet());
      List<ParallelCopy.Task<Long>> tasks = new ArrayList<>();
      for (ArtifactRecord part : parts) {
        tasks.add(c -> {
          long rows;
          try (InputStream in = artifacts.open(part)) {
            rows = ParallelCopy.copyIn(c, part.name(), in);
          }
          List<String> own = ownEntries.getOrDefault(tableOf(part), List.of());
          if (java.util.Objects.requireNonNull(partsLeft.get(tableOf(part))).decrementAndGet() == 0 && !own.isEmpty()) {
            PgTools.run(concat(restore, "--section=post-data", "--use-list=" + listFile(work, own),
                schema.toString()), scratch, "indexing " + tableOf(part) + " of backup " + manifest.id());
          }
          return rows;
        });
      }
      try {
        ParallelCopy.run(tasks, jobs, () -> {
          Connection c = scratch.connect();
          try (Statement s = c.createStatement()) {
            // A failed restore is dropped as a whole, so each COPY need not wait for its WAL flush; a role-level
            // timeout must not cut a large table's load short.
            s.execute("SET synchronous_commit = off");
            s.execute("SET statement_timeout = 0");
          }
          return c;
        });
      } catch (SQLException e) {
        throw new RestoreException("loading the tables of backup " + manifest.id() + " failed: " + e.getMessage(), e);
      }
      log.info("loaded {} table parts ({} bytes) of backup {} on {} connections in {} s", parts.size(),
          parts.stream().mapToLong(ArtifactRecord::rawBytes).sum(), manifest.id(), jobs, phases.end("tables"));
      Set<String> skipped = new HashSet<>();
      skippedForeignKeys.forEach(k -> skipped.add(" FK CONSTRAINT " + k.schema() + " " + k.table() + " " + k.constraint() + " "));
      List<String> rest = toc.stream().filter(l -> !early.contains(l))
          .filter(l -> skipped.stream().noneMatch(l::contains)).toList();
      PgTools.run(concat(restore, "--section=post-data", "--jobs=" + jobs, "--use-list=" + listFile(work, rest),
          schema.toString()), scratch, "creating the constraints and triggers of backup " + manifest.id());
      log.info("created the remaining indexes, constraints and triggers of backup {} in {} s", manifest.id(),
          phases.end("constraints"));
    } finally {
      deleteQuietly(work);
    }
  }

  /** Tables of at least this much COPY text are indexed as soon as their rows are in, the others at the end. */
  private static final long EARLY_INDEX_BYTES = 16L << 20;

  /** Best effort: after a failure, an aborted worker may still be writing a list file here. */
  private static void deleteQuietly(Path dir) {
    try {
      dev.savepoint.core.internal.Staging.deleteTree(dir);
    } catch (IOException e) {
      log.warn("could not remove the temporary directory {}: {}", dir, e.getMessage());
    }
  }

  /** {@code data/0001-public.chat.002.sql} and {@code data/0001-public.chat.sql} are parts of {@code data/0001-public.chat}. */
  private static String tableOf(ArtifactRecord part) {
    return part.name().replaceFirst("(\\.\\d{3})?\\.sql$", "");
  }

  /**
   * Per table (as {@link #tableOf} names it), the lines of the archive's table of contents that build only that
   * table's indexes and keys, from the manifest's {@code tablePostData} (type, schema and tag of each entry; a
   * line is {@code <id>; <oid> <oid> <type> <schema> <tag> <owner>}). Backups without it build everything at
   * the end.
   */
  private static Map<String, List<String>> ownEntries(Manifest manifest, List<String> toc) {
    Map<String, List<String>> result = new HashMap<>();
    if (!(manifest.source().facts().get("tablePostData") instanceof Map<?, ?> perTable)) {
      return result;
    }
    Map<String, String> lineByEntry = new HashMap<>();
    for (String line : toc) {
      String[] idAndRest = line.split("; ", 2);
      String[] fields = idAndRest.length == 2 ? idAndRest[1].split(" ", 3) : new String[0];
      if (fields.length == 3 && fields[2].lastIndexOf(' ') > 0) {
        lineByEntry.put(fields[2].substring(0, fields[2].lastIndexOf(' ')), line); // drop the owner
      }
    }
    perTable.forEach((table, entries) -> {
      List<String> lines = new ArrayList<>();
      for (Object entry : (List<?>) entries) {
        String line = lineByEntry.get(String.valueOf(entry));
        if (line != null) {
          lines.add(line);
        }
      }
      result.put(String.valueOf(table), lines);
    });
    return result;
  }

  private static String listFile(Path dir, List<String> lines) throws IOException {
    Path file = Files.createTempFile(dir, "toc-", ".list");
    Files.write(file, lines);
    return file.toString();
  }

  private static List<String> concat(List<String> first, String... more) {
    List<String> all = new ArrayList<>(first);
    all.addAll(List.of(more));
    return all;
  }
}
