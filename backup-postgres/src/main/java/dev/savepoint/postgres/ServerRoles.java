package dev.savepoint.postgres;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.RestoreException;
import dev.savepoint.postgres.internal.ParallelCopy;
import dev.savepoint.postgres.internal.PgTools;
import dev.savepoint.postgres.internal.RestrictedScript;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What a restore needs of the server besides the database: the roles that own or are granted the backed-up objects
 * (refused when missing, or created from the backup's globals for a new server) and the security label providers its
 * labels name.
 */
final class ServerRoles {
  private ServerRoles() {}

  /**
   * pg_dumpall's lines that create, change, comment on or label a role, or grant a membership to one (group 1:
   * the role).
   */
  private static final java.util.regex.Pattern ROLE_LINE = java.util.regex.Pattern.compile(
      "^(?:(?:CREATE|ALTER) ROLE|COMMENT ON ROLE|SECURITY LABEL FOR \\S+ ON ROLE) (" + ParallelCopy.IDENTIFIER + ")[ ;].*");
  private static final java.util.regex.Pattern GRANT_LINE =
      java.util.regex.Pattern.compile("^GRANT .* TO (" + ParallelCopy.IDENTIFIER + ")[ ;].*");

  static Set<String> existingRoles(Connection c) throws SQLException {
    Set<String> roles = new HashSet<>();
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT rolname FROM pg_roles")) {
      while (r.next()) {
        roles.add(r.getString(1));
      }
    }
    return roles;
  }

  /**
   * Refuses, before anything is loaded, a restore onto a server that lacks the roles owning or granted the
   * backed-up objects, unless {@code owner} was given ({@link PostgresTarget.Builder#owner}) (then, for archive formats, objects are loaded
   * without owners and privileges and belong to the restoring role). Returns whether to load without owners.
   */
  static boolean refuseMissingRoles(PostgresUrl url, @Nullable String owner, Manifest manifest,
      @Nullable DatabaseProperties properties, Set<String> existing) throws RestoreException {
    if (properties == null) {
      return false;
    }
    List<String> missing = new ArrayList<>(properties.roles());
    missing.add(owner != null ? owner : properties.owner());
    missing.removeIf(existing::contains);
    missing = missing.stream().distinct().sorted().toList();
    if (missing.isEmpty()) {
      return false;
    }
    boolean plain = "plain".equals(manifest.source().facts().getOrDefault("format", "plain"));
    if (owner == null || plain || !existing.contains(owner)) {
      throw new RestoreException("the server of " + url + " lacks the role(s) " + String.join(", ", missing)
          + " that own or are granted objects of backup " + manifest.id() + "; nothing was loaded. Create them (for "
          + "a new server: from a backup taken with globals, restored with --globals), or restore with --owner <role>"
          + (plain ? " (not possible for the plain format, whose SQL names its owners: create the roles)" : ""));
    }
    return true;
  }

  /**
   * Creates, from the backup's {@value PostgresSource#GLOBALS}, the roles the server lacks (with their attributes
   * and memberships); roles that exist are left exactly as they are. For restoring onto a new server.
   */
  static Map<String, Object> createMissingRoles(ArtifactReader artifacts, PostgresUrl maintenance, Set<String> existing,
      int serverMajor) throws IOException {
    if (artifacts.manifest().artifact(PostgresSource.GLOBALS).isEmpty()) {
      throw new RestoreException("backup " + artifacts.manifest().id() + " holds no roles (take it withGlobals / "
          + "--globals to restore onto a new server)");
    }
    StringBuilder sql = new StringBuilder();
    List<String> created = new ArrayList<>();
    try (InputStream in = artifacts.open(PostgresSource.GLOBALS)) {
      for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
        java.util.regex.Matcher role = ROLE_LINE.matcher(line);
        java.util.regex.Matcher grant = GRANT_LINE.matcher(line);
        String name = role.matches() ? role.group(1) : grant.matches() ? grant.group(1) : null;
        if (name == null) {
          continue; // settings, comments, restrict lines: nothing that changes an existing role
        }
        String unquoted = name.startsWith("\"") ? name.substring(1, name.length() - 1).replace("\"\"", "\"") : name;
        if (!existing.contains(unquoted)) {
          sql.append(line).append('\n');
          if (line.startsWith("CREATE ROLE")) {
            created.add(unquoted);
          }
        }
      }
    }
    if (!created.isEmpty()) {
      String psql = PgTools.find("psql", serverMajor);
      RestrictedScript.requireRestrictable(psql);
      Process p = PgTools.processBuilder(List.of(psql, "--no-password", "-X", "-q", "-v",
          "ON_ERROR_STOP=1", "--single-transaction", "--dbname=postgres", "-f", "-"), maintenance).start();
      PgTools.StderrCollector stderr = new PgTools.StderrCollector(p);
      try (OutputStream in = RestrictedScript.feeding(psql, p.getOutputStream())) {
        in.write(sql.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      p.getInputStream().transferTo(OutputStream.nullOutputStream());
      try {
        if (p.waitFor() != 0) {
          throw new RestoreException("creating the roles " + created + " failed: " + stderr.text());
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new RestoreException("interrupted while creating roles");
      }
    }
    return Map.of("rolesCreated", created);
  }

  /**
   * PostgreSQL records security labels only through a loaded label provider (sepgsql, …): a backup whose database
   * or objects carry labels of a provider the server has not loaded would fail halfway through the load. Each
   * provider is tried on a temporary table in a transaction that is rolled back, so nothing changes.
   */
  static void refuseMissingLabelProviders(PostgresUrl url, PostgresUrl maintenance, List<String> providers)
      throws RestoreException {
    if (providers.isEmpty()) {
      return;
    }
    List<String> missing = new ArrayList<>();
    try (Connection c = maintenance.connect()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TEMP TABLE savepoint_label_probe ()");
        for (String provider : providers) {
          s.execute("SAVEPOINT probe");
          try {
            s.execute("SECURITY LABEL FOR " + PostgresSource.quote(provider) + " ON TABLE savepoint_label_probe IS NULL");
          } catch (SQLException e) {
            if ("22023".equals(e.getSQLState())) {
              missing.add(provider);
            }
          }
          s.execute("ROLLBACK TO SAVEPOINT probe");
        }
      } finally {
        c.rollback();
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot check the security label providers of " + maintenance + ": " + e.getMessage(), e);
    }
    if (!missing.isEmpty()) {
      throw new RestoreException("the backup carries security labels of provider(s) " + String.join(", ", missing)
          + ", which the server of " + url + " has not loaded; nothing was changed. Load them there (e.g. sepgsql in "
          + "shared_preload_libraries, then restart the server) and restore again");
    }
  }

}
