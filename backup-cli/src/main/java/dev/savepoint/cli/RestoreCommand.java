package dev.savepoint.cli;

import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.AuditLog;
import dev.savepoint.core.RestoreApprovals;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.time.format.DateTimeParseException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "restore", description = "Restore a backup. Every digest is verified while streaming; on a "
    + "mismatch the target is left untouched and the exit code is 3.")
final class RestoreCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  SecretOptions secretOptions;

  @Option(names = "--plan", required = true)
  String plan;

  @Parameters(index = "0", arity = "0..1", paramLabel = "<backup-id>|latest")
  String backup;

  @Option(names = "--at", paramLabel = "<ISO time>", description = "The newest backup taken at or before this time.")
  String at;

  @Option(names = "--to", required = true, paramLabel = "<uri>",
      description = "file:/path, - (stdout) or postgresql://user@host:port/db.")
  String to;

  @Option(names = "--replace", description = "Replace an existing non-empty directory or file target.")
  boolean replace;

  @Option(names = "--approval", paramLabel = "<request-id>", description = "The approved restore request (see approve).")
  String approval;

  @Option(names = "--require-approvals", defaultValue = "0", paramLabel = "<N>",
      description = "Refuse to restore without an approval request holding N approvals (two-person rule: 2).")
  int requireApprovals;

  @Override
  public Integer call() throws Exception {
    if (backup != null && at != null) {
      throw new IllegalArgumentException("give either a backup id or --at, not both");
    }
    BackupSelector selector;
    if (at != null) {
      try {
        selector = BackupSelector.atOrBefore(Instant.parse(at));
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("--at must be an ISO-8601 instant such as 2026-11-28T10:00:00Z, not '" + at + "'");
      }
    } else {
      selector = BackupSelector.parse(backup);
    }
    Repository repository = repo.open();
    Manifest m = repository.select(plan, selector);
    if (requireApprovals > 0) {
      if (approval == null) {
        throw new dev.savepoint.core.ApprovalException("this restore requires " + requireApprovals
            + " approvals: open a request with 'savepoint approve --request' and pass --approval <id>");
      }
      new RestoreApprovals(repository.store(), new AuditLog(repository.store()), requireApprovals, Duration.ZERO)
          .requireApproved(approval, plan, m.id(), Uris.redact(to));
    }
    RestoreTarget target = Uris.target(to, m, replace, repository, plan + "-safety");
    Repository.RestoreResult result;
    try {
      result = repository.restore(m, target, secretOptions.secrets());
    } catch (Exception e) {
      Audit.record(repository, "restore", plan + "/" + m.id() + " -> " + Uris.redact(to), "failed",
          Map.of("error", String.valueOf(e.getMessage())));
      throw e;
    }
    Audit.record(repository, "restore", plan + "/" + m.id() + " -> " + Uris.redact(to), "ok", result.facts());
    System.err.printf("restored backup %s of plan '%s' to %s: %s in %s%s%n", m.id(), plan, result.target(),
        Format.bytes(result.rawBytes()), Format.duration(result.duration()),
        result.facts().isEmpty() ? "" : " " + result.facts());
    return Main.OK;
  }
}
