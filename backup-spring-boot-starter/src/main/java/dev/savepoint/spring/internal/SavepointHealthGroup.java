package dev.savepoint.spring.internal;

import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Adds, as defaults the application's own configuration overrides, the {@code savepoint} health group: it holds the
 * savepoint indicator and answers 503 while backups are at risk ({@code /actuator/health/savepoint}), which the
 * application's own health ignores. Not added when the indicator is switched off.
 */
public final class SavepointHealthGroup implements EnvironmentPostProcessor {
  private static final String GROUP = "management.endpoint.health.group.savepoint.";

  @Override
  public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
    boolean indicator = environment.getProperty("savepoint.enabled", Boolean.class, true)
        && environment.getProperty("management.health.savepoint.enabled", Boolean.class,
            environment.getProperty("management.health.defaults.enabled", Boolean.class, true));
    if (!indicator || environment.containsProperty(GROUP + "include")) {
      return;
    }
    environment.getPropertySources().addLast(new MapPropertySource("savepointHealthGroup", Map.of(
        GROUP + "include", "savepoint",
        GROUP + "status.order", "backups_at_risk,down,out_of_service,up,unknown",
        GROUP + "status.http-mapping.backups_at_risk", "503")));
  }
}
