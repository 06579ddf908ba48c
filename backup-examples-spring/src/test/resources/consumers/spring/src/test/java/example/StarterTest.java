package example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.spring.SavepointAutoConfiguration;
import dev.savepoint.spring.SavepointPlans;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** What an application's own test does: plans from properties, a backup on demand, a typo refused. */
class StarterTest {
  @TempDir
  Path tmp;

  ApplicationContextRunner app() {
    return new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(SavepointAutoConfiguration.class))
        .withPropertyValues("savepoint.repository=file:" + tmp.resolve("repo"),
            "savepoint.plans.uploads.source=file:" + tmp.resolve("uploads"),
            "savepoint.plans.uploads.encryption-passphrase=correct horse battery staple");
  }

  @Test
  void propertiesBecomePlansThatBackUp() throws Exception {
    Files.createDirectories(tmp.resolve("uploads"));
    Files.writeString(tmp.resolve("uploads/map.png"), "a map");
    app().run(context -> {
      assertThat(context).hasNotFailed();
      assertThat(context.getBean(SavepointPlans.class).run("uploads").manifest().source().type())
          .isEqualTo("directory");
    });
    app().withPropertyValues("savepoint.plans.uploads.encryption-pasphrase=x").run(context ->
        assertThat(context).hasFailed());
  }
}
