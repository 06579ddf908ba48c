package dev.savepoint.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.Repository;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** Property binding and the start-up failures that name the key. */
class SavepointAutoConfigurationTest {
  @TempDir
  Path tmp;

  ApplicationContextRunner runner() {
    return new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SavepointAutoConfiguration.class))
        .withPropertyValues("savepoint.repository=file:" + tmp.resolve("repo"),
            "savepoint.plans.trpg-tier1.source=postgresql://app@db.internal:5432/trpg",
            "savepoint.plans.trpg-tier1.tables=users,chat_messages",
            "savepoint.plans.trpg-tier1.format=parallel",
            "savepoint.plans.trpg-tier1.schedule=0 * * * *",
            "savepoint.plans.trpg-tier1.rpo=PT1H");
  }

  @Test
  void propertiesBecomePlansASchedulerAndAHealthIndicator() {
    runner().run(context -> {
      assertThat(context).hasNotFailed().hasSingleBean(Repository.class).hasSingleBean(SavepointScheduler.class)
          .hasSingleBean(SavepointHealthIndicator.class);
      SavepointPlans plans = context.getBean(SavepointPlans.class);
      assertThat(plans.get("trpg-tier1")).get().satisfies(p -> {
        assertThat(p.rpo()).hasHours(1);
        assertThat(p.repository().describe()).contains(tmp.resolve("repo").toString());
      });
    });
  }

  @Test
  void mistakesFailTheStartNamingTheKey() {
    runner().withPropertyValues("savepoint.plans.trpg-tier1.schedule=61 * * * *").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1.schedule")
            .hasStackTraceContaining("invalid cron expression '61 * * * *'"));
    runner().withPropertyValues("savepoint.plans.trpg-tier1.format=fastest").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1.format"));
    runner().withPropertyValues("savepoint.plans.trpg-tier1.source=mysql://db/x").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1.source")
            .hasStackTraceContaining("not a PostgreSQL URL"));
    runner().withPropertyValues("savepoint.repository=").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.repository is not set"));
    runner().withPropertyValues("savepoint.plans.other.tables=users").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.other.source is not set")
            .hasStackTraceContaining("spring.datasource.url"));
  }

  @Test
  void theEndpointStartsNoBackupUnlessEnabled() {
    runner().run(context -> {
      var response = context.getBean(SavepointEndpoint.class).backup("trpg-tier1");
      assertThat(response.getStatus()).isEqualTo(403);
      assertThat(response.getBody().toString()).contains("savepoint.endpoint.operations-enabled=true");
      assertThat(context.getBean(Repository.class).list("trpg-tier1")).isEmpty();
    });
  }

  @Test
  void offWhenDisabled() {
    runner().withPropertyValues("savepoint.enabled=false").run(context ->
        assertThat(context).doesNotHaveBean(SavepointScheduler.class).doesNotHaveBean(Repository.class));
  }
}
