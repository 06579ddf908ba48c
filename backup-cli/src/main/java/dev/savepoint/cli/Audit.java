package dev.savepoint.cli;

import dev.savepoint.core.AuditLog;
import dev.savepoint.core.Repository;
import java.util.Map;
import org.slf4j.LoggerFactory;

/** Records CLI operations in the repository's audit log, as {@code SAVEPOINT_PRINCIPAL} or the OS user. */
final class Audit {
  private Audit() {}

  static String principal() {
    String p = System.getenv("SAVEPOINT_PRINCIPAL");
    if (p == null || p.isBlank()) {
      p = System.getProperty("user.name", "unknown");
    }
    return p;
  }

  /** Best effort: an audit failure is reported but does not change the outcome of the operation. */
  static void record(Repository repository, String action, String subject, String result, Map<String, Object> details) {
    try {
      new AuditLog(repository.store()).append(principal(), action, subject, result, details);
    } catch (Exception e) {
      LoggerFactory.getLogger(Audit.class).error("could not write the audit entry for {} {}: {}", action, subject,
          e.getMessage());
    }
  }
}
