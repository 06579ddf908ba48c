package dev.savepoint.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Issue 36.7: a recovery file's SQL check waits for a server that is starting or still recovering (the waiting for a
 * promotion is in PromotedStandbyTest), and fails at once on what waiting cannot change.
 */
class SqlCheckStepTest {
  private final TestPostgres pg = TestPostgres.shared();

  @Test
  void aPromotedServersWrongAnswerFailsAtOnce() throws Exception {
    PostgresUrl url = PostgresUrl.parse(pg.url("postgres"));
    assertThat(Steps.sqlCheck("ok", url, "SELECT 1", "1", Duration.ofSeconds(60)).run()).containsEntry("result", "1");
    Instant start = Instant.now();
    assertThatThrownBy(() -> Steps.sqlCheck("wrong", url, "SELECT 2", "1", Duration.ofSeconds(60)).run())
        .isInstanceOf(IOException.class).hasMessageContaining("expected 1, got 2");
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void aRefusedLoginFailsAtOnce() throws Exception {
    PostgresUrl url = PostgresUrl.parse(pg.createPasswordUser("right-password")
        .replace(TestPostgres.PASSWORD_USER + "@", TestPostgres.PASSWORD_USER + ":wrong-password@"));
    Instant start = Instant.now();
    assertThatThrownBy(() -> Steps.sqlCheck("login", url, "SELECT 1", "1", Duration.ofSeconds(60)).run())
        .isInstanceOf(IOException.class).hasMessageContaining("failed").hasMessageNotContaining("wrong-password");
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void aServerNotAcceptingConnectionsIsWaitedForUntilTheTimeout() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    PostgresUrl url = PostgresUrl.parse("postgresql://postgres@127.0.0.1:" + closed + "/postgres");
    Instant start = Instant.now();
    assertThatThrownBy(() -> Steps.sqlCheck("down", url, "SELECT 1", "1", Duration.ofSeconds(4)).run())
        .isInstanceOf(IOException.class).hasMessageContaining("gave up after")
        .hasMessageContaining("does not accept connections yet");
    assertThat(Duration.between(start, Instant.now())).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
  }
}
