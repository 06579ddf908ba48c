package dev.savepoint.cli;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import java.util.Map;

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

  /**
   * Sends the chain's new head out of band when {@code SAVEPOINT_AUDIT_WEBHOOK} names a URL (kept in the
   * environment: it may carry a token): a system the repository's writers do not control then holds what
   * {@code savepoint audit --expect-head <sequence>:<hash>} checks the chain against.
   */
  private static void sendHead(Repository repository, dev.savepoint.core.security.AuditLog.Entry entry) {
    String url = System.getenv("SAVEPOINT_AUDIT_WEBHOOK");
    if (url == null || url.isBlank()) {
      return;
    }
    try {
      String body = Format.json(Map.of("repository", repository.describe(), "sequence", entry.sequence(),
          "hash", entry.hash(), "action", entry.action(), "time", entry.time().toString()));
      java.net.http.HttpResponse<Void> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest
          .newBuilder(java.net.URI.create(url)).timeout(java.time.Duration.ofSeconds(10))
          .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
          .build(), java.net.http.HttpResponse.BodyHandlers.discarding());
      if (r.statusCode() / 100 != 2) {
        System.err.println("savepoint: warning: the audit head webhook answered HTTP " + r.statusCode());
      }
    } catch (Exception e) {
      System.err.println("savepoint: warning: could not send the audit head out of band: "
          + e.getClass().getSimpleName());
    }
  }

  /** Why an audit entry of this run could not be written, if one could not: the run then exits non-zero. */
  static volatile String broken;

  /**
   * Records an operation. An entry that cannot be written does not undo the operation, but it is never silent: the
   * command says so on stderr and exits 1 (see {@link Main#run}). Only a repository this process may not write to
   * (read-only credentials, as a restoring host should have) is a warning: its writers keep the log.
   */
  static void record(Repository repository, String action, String subject, String result, Map<String, Object> details) {
    try {
      try {
        append(repository, action, subject, result, details);
      } catch (java.nio.channels.ClosedByInterruptException | java.io.InterruptedIOException shutdown) {
        append(repository, action, subject, result, details); // interrupted mid-write: once more, interrupt aside
      }
    } catch (Exception e) {
      if (readOnly(e)) {
        System.err.println("savepoint: warning: no audit entry for " + action + " " + subject + ": the repository is "
            + "read-only for this process (" + Main.message(e) + ")");
        return;
      }
      broken = "could not write the audit entry for " + action + " " + subject + ": " + Main.message(e);
      System.err.println("savepoint: the audit log is broken: " + broken);
    }
  }

  /**
   * Appends the entry; a thread interrupted by a shutdown (SIGTERM of {@code run --schedule} mid-backup) cannot write
   * files (ClosedByInterruptException), so the entry is written with the interrupt set aside, then kept: the operation
   * it records is audited, and the log is not called broken for it.
   */
  private static void append(Repository repository, String action, String subject, String result,
      Map<String, Object> details) throws java.io.IOException {
    boolean interrupted = Thread.interrupted();
    try {
      dev.savepoint.core.security.AuditLog.Entry entry = repository.auditLog().append(principal(), action, subject, result,
          details);
      sendHead(repository, entry);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static boolean readOnly(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      String m = String.valueOf(c.getMessage()).toLowerCase(java.util.Locale.ROOT);
      if (c instanceof java.nio.file.AccessDeniedException || c instanceof java.nio.file.ReadOnlyFileSystemException
          || m.contains("access denied") || m.contains("read-only file system")) {
        return true;
      }
    }
    return false;
  }
}
