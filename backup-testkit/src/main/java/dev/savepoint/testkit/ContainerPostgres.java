package dev.savepoint.testkit;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * The Testcontainers fallback of {@link TestPostgres}: a {@code postgres} container, configured like the
 * cluster started from machine binaries (everyone trusted except {@link TestPostgres#PASSWORD_USER}, which
 * needs its scram password). Loaded only when Testcontainers is on the class path, so the test kit does not
 * require it.
 */
final class ContainerPostgres {
  static final String IMAGE = "postgres:15";

  private ContainerPostgres() {}

  /** True when Testcontainers is on the class path and finds a Docker engine. */
  static boolean available() {
    try {
      Class.forName("org.testcontainers.DockerClientFactory");
    } catch (ClassNotFoundException e) {
      return false;
    }
    return DockerClientFactory.instance().isDockerAvailable();
  }

  /** Starts the container (stopped by Testcontainers' reaper when the JVM exits); returns host and port. */
  @SuppressWarnings("resource") // lives until the JVM exits
  static java.net.InetSocketAddress start() throws java.io.IOException, InterruptedException {
    PostgreSQLContainer<?> container = new PostgreSQLContainer<>(IMAGE).withUsername("postgres")
        .withEnv("POSTGRES_HOST_AUTH_METHOD", "trust").withCommand("postgres", "-c", "fsync=off");
    container.start();
    var result = container.execInContainer("sh", "-c", "sed -i '1i host all " + TestPostgres.PASSWORD_USER
        + " all scram-sha-256' \"$PGDATA/pg_hba.conf\" && psql -U postgres -c 'SELECT pg_reload_conf()'");
    if (result.getExitCode() != 0) {
      throw new java.io.IOException("cannot configure the PostgreSQL container: " + result.getStderr());
    }
    return new java.net.InetSocketAddress(container.getHost(), container.getMappedPort(5432));
  }
}
