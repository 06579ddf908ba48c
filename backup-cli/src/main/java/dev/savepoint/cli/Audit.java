package dev.savepoint.cli;

import dev.savepoint.core.AuditLog;
import dev.savepoint.core.Manifest;
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

  /** One backup, as far as the CLI is concerned. */
  @FunctionalInterface
  interface BackupRun {
    Manifest run() throws Exception;
  }

  /** Runs a backup and records its success or failure (then rethrows the failure). */
  static Manifest backup(Repository repository, String plan, BackupRun run) throws Exception {
    Manifest m;
    try {
      m = run.run();
    } catch (Exception e) {
      record(repository, "backup", plan, "failed", Map.of("error", String.valueOf(e.getMessage())));
      throw e;
    }
    record(repository, "backup", plan + "/" + m.id(), "ok", Map.of("storedBytes", m.storedBytes()));
    return m;
  }

  /** Best effort: an audit failure is reported but does not change the outcome of the operation. */
  static void record(Repository repository, String action, String subject, String result, Map<String, Object> details) {
    try {
      repository.auditLog().append(principal(), action, subject, result, details);
    } catch (Exception e) {
      LoggerFactory.getLogger(Audit.class).error("could not write the audit entry for {} {}: {}", action, subject,
          e.getMessage());
    }
  }
}
