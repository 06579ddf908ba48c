package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Issue 40.9: a table both included and excluded made an empty backup that passed the presence check. */
class SourceBuilderMistakesTest {
  @Test
  void aTableBothIncludedAndExcludedIsRefused() {
    assertThatThrownBy(() -> PostgresSource.builder(PostgresUrl.parse("postgresql://app@db/trpg")).table("users", "maps")
        .excludeTable("users").build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("both included and excluded: users");
  }
}
