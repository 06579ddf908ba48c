package dev.savepoint.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Duration;

/** Human-readable sizes and durations, and the JSON writer for {@code --json}. */
final class Format {
  static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT);

  private Format() {}

  /** The ISO-8601 instant an option gives (e.g. --at), or a usage error naming the option and an example. */
  static java.time.Instant instant(String option, String value) {
    try {
      return java.time.Instant.parse(value);
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException(option + " must be an ISO-8601 instant such as 2026-11-28T10:00:00Z, not '"
          + value + "'");
    }
  }

  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format("%.1f %s", v, units[u]);
  }

  /** An ISO-8601 period as an operator writes it: {@code P7D}, not the {@code PT168H} of {@link Duration#toString}. */
  static String period(Duration d) {
    return !d.isZero() && d.toSeconds() % 86_400 == 0 && d.toNanosPart() == 0 ? "P" + d.toDays() + "D" : d.toString();
  }

  static String duration(Duration d) {
    return String.format("%.1f s", d.toMillis() / 1000.0);
  }

  static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
