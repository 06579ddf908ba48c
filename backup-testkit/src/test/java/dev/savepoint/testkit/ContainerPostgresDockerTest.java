package dev.savepoint.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Testcontainers fallback of {@link TestPostgres}. Needs a Docker engine: runs only with {@code mvn -Pdocker}
 * (not in this repository's CI, which has no Docker engine).
 */
@Tag("docker")
class ContainerPostgresDockerTest {
  @Test
  void containerTrustsPostgresAndMakesThePasswordUserAuthenticate() throws Exception {
    assertThat(ContainerPostgres.available()).as("a Docker engine is needed for this test").isTrue();
    InetSocketAddress server = ContainerPostgres.start();
    String jdbc = "jdbc:postgresql://" + server.getHostString() + ":" + server.getPort() + "/postgres";
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", ""); Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + TestPostgres.PASSWORD_USER + " LOGIN PASSWORD 'right'");
    }
    try (Connection c = DriverManager.getConnection(jdbc, TestPostgres.PASSWORD_USER, "right")) {
      assertThat(c.isValid(5)).isTrue();
    }
    assertThatThrownBy(() -> DriverManager.getConnection(jdbc, TestPostgres.PASSWORD_USER, "wrong"))
        .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");
  }
}
