package dev.savepoint.testkit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/**
 * Issue 40.8: on a machine with no PostgreSQL and no Docker, {@code @RegisterExtension static TestPostgres pg =
 * TestPostgres.shared()} skips the class (from beforeAll) instead of failing its static initialisation.
 */
class TestPostgresUnavailableTest {
  @Test
  void everyUseOfAnUnavailableServerIsASkipSayingWhy() {
    TestPostgres none = TestPostgres.unavailable("no PostgreSQL server binaries");
    assertThatThrownBy(() -> none.beforeAll(null)).isInstanceOf(TestAbortedException.class)
        .hasMessageContaining("no PostgreSQL server binaries");
    assertThatThrownBy(() -> none.url("db")).isInstanceOf(TestAbortedException.class);
    assertThatThrownBy(() -> none.connect("db")).isInstanceOf(TestAbortedException.class);
  }
}
