package dev.savepoint.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.operations.Event;
import dev.savepoint.core.operations.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The shipped alert rules ({@code docs/alerts}) are valid, behave as their unit tests say (promtool), and use only
 * metric names that Savepoint really exports (a Prometheus scrape of MicrometerMetrics after every kind of event).
 */
class AlertRulesTest {
  static final Path RULES = Path.of("..", "docs", "alerts", "savepoint-rules.yml");
  static final Path RULE_TESTS = Path.of("..", "docs", "alerts", "savepoint-rules-test.yml");
  static final Path DASHBOARD = Path.of("..", "docs", "alerts", "savepoint-dashboard.json");

  static String promtool(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("promtool"));
    command.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).directory(RULES.getParent().toFile()).start();
    } catch (java.io.IOException missing) {
      String why = "promtool is not installed (scripts/setup.sh installs it)";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + "; CI=true, so this is a failure, not a skip", missing);
      }
      Assumptions.abort(why);
      throw missing;
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  @Test
  void rulesAreValidAndPassTheirUnitTests() throws Exception {
    assertThat(promtool("check", "rules", RULES.getFileName().toString())).contains("SUCCESS: 6 rules found");
    assertThat(promtool("test", "rules", RULE_TESTS.getFileName().toString())).contains("SUCCESS");
  }

  @Test
  void rulesUseTheNamesSavepointExports() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    MicrometerMetrics metrics = new MicrometerMetrics(registry).rpo("trpg-tier1", Duration.ofHours(1))
        .walStreamer("trpg-cluster", new dev.savepoint.core.operations.WalStreamStatus() {
          @Override
          public Instant lastDurableAt() {
            return Instant.now().minusSeconds(3);
          }

          @Override
          public long durableLsn() {
            return 0x3000060;
          }

          @Override
          public boolean connected() {
            return true;
          }

          @Override
          public long retries() {
            return 2;
          }

          @Override
          public int timeline() {
            return 1;
          }
        });
    Instant now = Instant.now();
    metrics.notify(new Event(Event.Type.BACKUP_SUCCEEDED, "trpg-tier1", "id", now, "ok",
        Map.of("durationMillis", 1200L, "rawBytes", 10L, "storedBytes", 4L)));
    metrics.notify(new Event(Event.Type.BACKUP_FAILED, "trpg-tier1", null, now, "failed", Map.of()));
    metrics.notify(new Event(Event.Type.DRILL_PASSED, "trpg-tier1", "id", now, "ok", Map.of()));
    metrics.notify(new Event(Event.Type.DRILL_FAILED, "trpg-tier1", "id", now, "failed", Map.of()));
    String scrape = registry.scrape();

    Set<String> used = new TreeSet<>();
    Matcher m = Pattern.compile("savepoint_[a-z_]+").matcher(Files.readString(RULES) + Files.readString(DASHBOARD));
    while (m.find()) {
      used.add(m.group());
    }
    assertThat(used).as("rules and dashboard").hasSizeGreaterThanOrEqualTo(8);
    for (String name : used) {
      assertThat(scrape).as(name).containsPattern("(?m)^" + name + "\\{");
    }
  }
}
