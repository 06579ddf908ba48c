package dev.savepoint.postgres.internal;

import dev.savepoint.postgres.PostgresUrl;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * A restore's claim on its scratch database: a session-level advisory lock, taken before the database is created and
 * held on a connection of its own until the restore has dropped it or swapped it into place. A restore that is
 * killed loses its connection, and with it the lease, so its scratch database becomes abandoned at once; one that is
 * alive keeps it however long it sits between phases with no session in the database itself.
 */
public final class ScratchLease implements AutoCloseable {
  /** The first key of every scratch lease ("SPSC"); the second is the scratch database name's hash. */
  private static final int NAMESPACE = 0x53505343;

  private final Connection connection;

  private ScratchLease(Connection connection) {
    this.connection = connection;
  }

  /** Takes the lease of {@code scratch} on the server of {@code maintenance}, waiting for an earlier holder. */
  public static ScratchLease hold(PostgresUrl maintenance, String scratch) throws SQLException {
    Connection c = maintenance.connect();
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_lock(?, ?)")) {
      ps.setInt(1, NAMESPACE);
      ps.setInt(2, scratch.hashCode());
      ps.execute();
      return new ScratchLease(c);
    } catch (SQLException e) {
      c.close();
      throw e;
    }
  }

  /** Whether a live restore holds the lease of {@code scratch} (checked on {@code c}, which keeps no lock). */
  public static boolean held(Connection c, String scratch) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
      ps.setInt(1, NAMESPACE);
      ps.setInt(2, scratch.hashCode());
      try (ResultSet r = ps.executeQuery()) {
        r.next();
        if (!r.getBoolean(1)) {
          return true;
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(?, ?)")) {
      ps.setInt(1, NAMESPACE);
      ps.setInt(2, scratch.hashCode());
      ps.execute();
    }
    return false;
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      // the lock goes with the session either way
    }
  }
}
