package dev.savepoint.postgres;

import dev.savepoint.core.StoreException;
import dev.savepoint.core.operations.LockProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Cluster-wide locks from PostgreSQL session advisory locks: every replica of an application that shares a
 * database shares the locks. A lock lives in its own connection, so if the holder dies, the server releases
 * the lock when the connection drops. The lock key is the first 8 bytes of the SHA-256 of the name.
 */
public final class PostgresLockProvider implements LockProvider {
  /** Where lock connections come from. */
  @FunctionalInterface
  private interface Connections {
    Connection open() throws SQLException;
  }

  private final Connections connections;
  private final String describe;

  public PostgresLockProvider(PostgresUrl url) {
    this.connections = url::connect;
    this.describe = url.toString();
  }

  /**
   * Locks on connections of the application's own pool (e.g. Spring's {@code DataSource}): each held lock keeps
   * one pooled connection until it is released (unlocked, then returned).
   */
  public PostgresLockProvider(javax.sql.DataSource dataSource) {
    this.connections = dataSource::getConnection;
    this.describe = "the application's DataSource";
  }

  static long key(String name) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.wrap(h).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Optional<Lock> tryLock(String name) throws IOException {
    long key = key(name);
    Connection c = null;
    try {
      c = connections.open();
      boolean acquired;
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
        ps.setLong(1, key);
        try (ResultSet r = ps.executeQuery()) {
          r.next();
          acquired = r.getBoolean(1);
        }
      }
      if (!acquired) {
        c.close();
        return Optional.empty();
      }
      Connection held = c;
      return Optional.of(() -> {
        try (held; PreparedStatement ps = held.prepareStatement("SELECT pg_advisory_unlock(?)")) {
          ps.setLong(1, key);
          ps.execute();
        } catch (SQLException e) {
          throw new StoreException("releasing advisory lock '" + name + "' on " + describe + ": " + e.getMessage(), e);
        }
      });
    } catch (SQLException e) {
      if (c != null) {
        try {
          c.close();
        } catch (SQLException ignored) {
          e.addSuppressed(ignored);
        }
      }
      throw new StoreException("advisory lock '" + name + "' on " + describe + ": " + e.getMessage(), e);
    }
  }
}
