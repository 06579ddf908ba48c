package dev.savepoint.core.operations;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells people about {@link Event}s. Implementations may fail; {@link #safely} wraps a list of notifiers so
 * that a failing notifier is logged and never fails the backup that triggered it.
 */
@FunctionalInterface
public interface Notifier {
  void notify(Event event) throws IOException;

  /** Writes events to the log (warn for problems, info otherwise). */
  static Notifier log() {
    Logger log = LoggerFactory.getLogger("dev.savepoint.events");
    return e -> {
      if (e.isProblem()) {
        log.warn("{} {}: {}", e.type(), e.plan(), e.message());
      } else {
        log.info("{} {}: {}", e.type(), e.plan(), e.message());
      }
    };
  }

  /**
   * Posts a concise message to a Slack incoming webhook. The webhook URL is a secret: it is never logged or
   * put into error messages.
   */
  static Notifier slack(URI webhook) {
    return e -> {
      String icon = switch (e.type()) {
        case BACKUP_SUCCEEDED, DRILL_PASSED, RECOVERY_FINISHED -> ":white_check_mark:";
        case BACKUP_FAILED, DRILL_FAILED, RECOVERY_FAILED -> ":x:";
        case RPO_BREACHED -> ":warning:";
        case RECOVERY_STARTED -> ":rotating_light:";
      };
      String text = icon + " *" + e.plan() + "* " + e.type().name().toLowerCase().replace('_', ' ')
          + (e.backupId() == null ? "" : " (`" + e.backupId() + "`)") + ": " + e.message();
      Internal.post(webhook, Internal.JSON.writeValueAsBytes(Map.of("text", text)), "Slack webhook");
    };
  }

  /** Posts the event as JSON ({@code type, plan, backupId, time, message, details}) to {@code url}. */
  static Notifier webhook(URI url) {
    return e -> Internal.post(url, Internal.JSON.writeValueAsBytes(e), "webhook " + url.getHost());
  }

  /** Calls every notifier, logging (not throwing) their failures. */
  static Notifier safely(List<Notifier> notifiers) {
    Logger log = LoggerFactory.getLogger(Notifier.class);
    List<Notifier> copy = List.copyOf(notifiers);
    return e -> {
      for (Notifier n : copy) {
        try {
          n.notify(e);
        } catch (IOException | RuntimeException failure) {
          log.warn("notification of {} for plan '{}' failed: {}", e.type(), e.plan(), failure.getMessage());
        }
      }
    };
  }

  /** Shared machinery of the built-in notifiers. */
  final class Internal {
    static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private Internal() {}

    static void post(URI url, byte[] body, String what) throws IOException {
      HttpRequest req = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(20))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
      HttpResponse<Void> r;
      try {
        r = HTTP.send(req, HttpResponse.BodyHandlers.discarding());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while notifying " + what);
      } catch (IOException e) {
        // The JDK's messages can contain the URL, and webhook URLs carry their secret in the path.
        throw new IOException(what + " unreachable: " + e.getClass().getSimpleName());
      }
      if (r.statusCode() / 100 != 2) {
        throw new IOException(what + " answered HTTP " + r.statusCode());
      }
    }
  }
}
