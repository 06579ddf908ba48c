package dev.savepoint.postgres.pitr;

import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.Source;
import dev.savepoint.core.SourceException;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.internal.PgTools;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A physical base backup of a whole cluster: {@code pg_basebackup -D - -Ft -X none} streamed into the
 * repository as the artifact {@value #ARTIFACT} (no local copy); its exact start and stop LSN are read from the tar's
 * {@code backup_label} and {@code backup_manifest} as it passes. The WAL from its start to its stop LSN must be
 * archived by a {@link WalStreamer} (or {@code wal push}) for it to be restorable. Facts: start and stop LSN,
 * timeline, system identifier, server version, WAL segment size. Clusters with tablespaces besides the default
 * ones are refused before anything is written (a tar on stdout holds one tablespace).
 */
public final class BaseBackupSource implements Source {
  public static final String TYPE = "postgresql-physical";
  public static final String ARTIFACT = "base.tar";

  private final PostgresUrl url;

  public BaseBackupSource(PostgresUrl url) {
    this.url = Objects.requireNonNull(url);
  }

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    Map<String, Object> facts = new LinkedHashMap<>();
    int major;
    try (Connection c = url.connect(); Statement s = c.createStatement()) {
      try (ResultSet r = s.executeQuery("SELECT string_agg(spcname, ', ') FROM pg_tablespace "
          + "WHERE spcname NOT IN ('pg_default', 'pg_global')")) {
        r.next();
        if (r.getString(1) != null) {
          throw new SourceException("cluster " + url + " has tablespaces (" + r.getString(1) + ") besides the default "
              + "ones; a streamed base backup holds one tablespace: move them to pg_default, or back up logically");
        }
      }
      facts.put("systemId", single(s, "SELECT system_identifier::text FROM pg_control_system()"));
      facts.put("serverVersion", single(s, "SHOW server_version"));
      major = Integer.parseInt(single(s, "SHOW server_version_num")) / 10000;
      facts.put("walSegmentSize", Long.parseLong(single(s, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'")));
      // The exact points are read from the tar below; this bracket is the fallback (no backup_manifest before
      // PostgreSQL 13): the backup's checkpoint starts after this position, so WAL from here on covers it.
      facts.put("startLsn", single(s, WAL_POSITION));
      facts.put("timeline", Integer.parseInt(single(s, "SELECT timeline_id::text FROM pg_control_checkpoint()")));
    } catch (SQLException e) {
      throw new SourceException("cannot inspect " + url + ": " + e.getMessage(), e);
    }
    List<String> cmd = List.of(PgTools.findAtLeast("pg_basebackup", major), "--no-password", "-D", "-", "-Ft", "-X", "none",
        "--checkpoint=fast");
    Process p = PgTools.start(cmd, url);
    PgTools.StderrCollector stderr = new PgTools.StderrCollector(p);
    p.getOutputStream().close();
    OutputStream out = writer.open(ARTIFACT);
    BaseBackupTarProbe.WalRange range;
    try (InputStream in = p.getInputStream()) {
      range = BaseBackupTarProbe.copy(in, out);
      int exit = p.waitFor();
      if (exit != 0) {
        throw new SourceException("pg_basebackup of " + url + " failed with exit code " + exit + ": " + stderr.text());
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while running pg_basebackup");
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
    out.close();
    try (Connection c = url.connect(); Statement s = c.createStatement()) {
      // At or after the backup's end: recovery must replay at least to here to be consistent.
      facts.put("stopLsn", single(s, WAL_POSITION));
    } catch (SQLException e) {
      throw new SourceException("cannot read the WAL position of " + url + ": " + e.getMessage(), e);
    }
    if (range.startLsn() != null) {
      facts.put("startLsn", range.startLsn());
      facts.put("timeline", range.startTimeline());
    }
    if (range.manifestEndLsn() != null) {
      facts.put("stopLsn", range.manifestEndLsn());
    }
    facts.put("walRangeFrom", range.startLsn() != null && range.manifestEndLsn() != null
        ? "backup_label and backup_manifest" : "pg_current_wal_lsn() before and after (bracketed)");
    return facts;
  }

  /**
   * Where the server's WAL is: on a primary what it wrote, on a standby (backups from a standby spare the primary;
   * their WAL comes from the primary's archiving, same timeline) what it replayed.
   */
  private static final String WAL_POSITION = "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
      + "ELSE pg_current_wal_lsn() END)::text";

  private static String single(Statement s, String sql) throws SQLException {
    try (ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getString(1);
    }
  }
}
